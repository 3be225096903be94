// GET /api/open/v1/audience/presigned-upload-data (seed 000): upload
// credentials for one audience file. area_type 1 answers an S3 pre-signed PUT
// URL, area_type 2 an OSS PostObject policy form. The declared file_md5 is
// enforced by the store, not left to the client.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { err } from '../../../errors.js';
import { DiskStore } from '../../../infra/objects/disk.js';
import { createPostPolicy } from '../../../protocols/oss-post-policy.js';
import { ok } from './errors.js';

export const presignedUpload: FastifyPluginAsyncTypebox = async (f) => {
  f.get(
    '/audience/presigned-upload-data',
    {
      schema: {
        hide: true,
        querystring: Type.Object({
          area_type: Type.Optional(Type.String()),
          file_name: Type.Optional(Type.String()),
          file_md5: Type.Optional(Type.String()),
        }),
      },
    },
    async (req) => {
      const app = f.app;
      const q = req.query;
      if (!q.area_type) throw err('MissingParameter', 'area_type is required', 'area_type');
      if (!/^\d+$/.test(q.area_type)) throw err('InvalidParameter', 'area_type must be 1 (outside mainland China) or 2 (mainland China)', 'area_type');
      if (!q.file_md5) throw err('MissingParameter', 'file_md5 is required', 'file_md5');
      const areaType = Number(q.area_type);
      const cluster = app.config.clusters.find((c) => c.id === areaType);
      if (!cluster) throw err('InvalidParameter', `area_type ${areaType} is not a data cluster of this deployment`, 'area_type');
      const ttl = app.config.mintegral.ttlSeconds;
      const form = areaType === 2;
      const store = app.uploads.store(areaType);
      if (form && !(store instanceof DiskStore)) {
        throw err('InvalidParameter', `area_type ${areaType} is served by an S3 store, which cannot accept OSS PostObject forms`, 'area_type');
      }
      const up = await app.uploads.create({
        accountId: req.accountId!,
        keyId: req.accessKeyId,
        clusterId: areaType,
        dialect: 'mintegral',
        fileName: q.file_name ?? '',
        declaredMd5: q.file_md5,
        ttlSeconds: ttl,
        scheme: form ? 'oss' : 's3',
      });
      const base = { area_type: areaType, file_name: up.fileName, file_md5: up.declaredMd5, ttl };
      if (!form) {
        // No signed Content-MD5: the seed's client is `curl -X PUT -T file URL`,
        // which sends none. The embedded store checks the declared MD5 while
        // streaming; an S3 store's ETag is compared after the upload.
        const url = await store.presignPut(up.storageKey, { expiresSeconds: ttl });
        return ok({ ...base, s3: { method: 'PUT', url, data_path: up.dataPath } });
      }
      const cred = app.storeCredentials.forBucket(cluster.bucket);
      const expiresAt = new Date(app.now() + ttl * 1000);
      const { policy, signature } = createPostPolicy({
        accessKeyId: cred.accessKeyId,
        secret: cred.secret,
        bucket: cluster.bucket,
        exactKey: up.storageKey,
        minBytes: 1,
        maxBytes: app.config.uploads.maxBytes,
        expiresAt,
      });
      return ok({
        ...base,
        oss: {
          method: 'POST',
          accessid: cred.accessKeyId,
          host: `${app.config.publicUrl}/${cluster.bucket}`,
          expire: Math.floor(expiresAt.getTime() / 1000),
          signature,
          policy,
          dir: up.storageKey,
          data_path: up.dataPath,
        },
      });
    },
  );
};

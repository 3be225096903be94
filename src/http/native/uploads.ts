import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UPLOAD_PURPOSES } from '../../domain/uploads/purpose.js';
import type { Upload } from '../../domain/uploads/types.js';
import { DiskStore } from '../../infra/objects/disk.js';
import { authenticateBearer } from './auth.js';
import { presentDelivery, presentUpload } from './present.js';

const tags = ['uploads'];
const security = [{ bearer: [] }];

/** An upload as the native API shows it, with the purpose it was made for. */
const present = (u: Upload) => ({ ...presentUpload(u), purpose: u.purpose });

export const uploadRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));

  f.post(
    '/uploads',
    {
      schema: {
        tags,
        security,
        summary: 'Create an upload and a pre-signed PUT URL for its file',
        description:
          'The file is then sent with a plain HTTP PUT to `put.url` (with `put.headers`). The declared MD5 and size, when given, are enforced: a body that does not match is refused and nothing is kept. `purpose` says what the file is for: `audience` (the default: ids, txt or csv text, or gzip of it) or `events` (a file for POST /v1/events/{kind}/loads: `.csv`, `.ndjson` or `.jsonl`, each optionally `.gz`, checked as text; or `.parquet`, checked for PAR1 at both ends). An audience reads only audience uploads, a load only event uploads.',
        body: Type.Object(
          {
            file_name: Type.String({ minLength: 1, maxLength: 1000 }),
            md5: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{32}$' })),
            size: Type.Optional(Type.Integer({ minimum: 0 })),
            cluster_id: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
            ttl_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 604_800, default: 3600 })),
            purpose: Type.Optional(Type.Union(UPLOAD_PURPOSES.map((p) => Type.Literal(p)), { default: 'audience', description: 'audience (ids) or events (a file to load as events)' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const clusterId = b.cluster_id ?? 1;
      const ttl = b.ttl_seconds ?? 3600;
      const up = await f.app.uploads.create({
        accountId: req.accountId!,
        keyId: req.accessKeyId,
        clusterId,
        dialect: 'native',
        fileName: b.file_name,
        declaredMd5: b.md5,
        declaredSize: b.size,
        ttlSeconds: ttl,
        purpose: b.purpose,
      });
      const store = f.app.uploads.store(clusterId);
      // The embedded store checks the declared MD5 itself; an external S3 store
      // is told through a signed Content-MD5 that the client must then send.
      const signMd5 = !(store instanceof DiskStore) && b.md5 ? b.md5.toLowerCase() : undefined;
      const url = await store.presignPut(up.storageKey, { expiresSeconds: ttl, contentMd5Hex: signMd5 });
      const headers: Record<string, string> = signMd5 ? { 'Content-MD5': Buffer.from(signMd5, 'hex').toString('base64') } : {};
      return reply.status(201).send({ upload: present(up), put: { method: 'PUT', url, headers } });
    },
  );

  f.get(
    '/uploads',
    {
      schema: {
        tags,
        security,
        summary: "List the account's uploads, newest first",
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['PENDING', 'UPLOADING', 'READY', 'FAILED', 'EXPIRED'].map((s) => Type.Literal(s)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          after: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (req) => {
      const page = await f.app.uploads.list(req.accountId!, req.query as never);
      return { items: page.items.map(present), next: page.next };
    },
  );

  const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

  f.get('/uploads/:id', { schema: { tags, security, summary: 'One upload and its status', params: Params } }, async (req) =>
    present(await f.app.uploads.get(req.accountId!, req.params.id)),
  );

  f.get(
    '/uploads/:id/callbacks',
    { schema: { tags, security, summary: 'Every callback delivery attempt made for an upload, oldest first', params: Params } },
    async (req) => {
      await f.app.uploads.get(req.accountId!, req.params.id);
      return { items: (await f.app.callbacks.list(req.params.id)).map(presentDelivery) };
    },
  );

  f.delete('/uploads/:id', { schema: { tags, security, summary: 'Delete an upload and its object', params: Params } }, async (req, reply) => {
    await f.app.uploads.delete(req.accountId!, req.params.id);
    return reply.status(204).send();
  });
};

// The embedded object store: serves the upload protocols for one disk bucket
// (S3 SigV4 pre-signed PUT/GET, COS q-sign PUT/GET, OSS header-signed PUT and
// multipart with a temporary credential, OSS PostObject forms) and checks each
// exactly as the real store would before a byte is kept.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DiskStore } from '../../infra/objects/disk.js';
import { SignatureError } from '../../protocols/types.js';
import { err } from '../../errors.js';
import { expectsContinue } from '../context.js';
import { authorizeOssHeader, authorizeUrl, verifyUrl } from './auth.js';
import { sendStoreError, type StoreProtocol } from './errors.js';
import { Multipart } from '../../domain/uploads/multipart.js';
import { postObject } from './post-object.js';
import { contentLength, contentMd5Hex, readStoreRequest, type StoreRequest } from './request.js';
import { xmlDoc } from './xml.js';

export interface StoreOptions {
  bucket: string;
}

const protocolOf = (r: StoreRequest | undefined): StoreProtocol => (r?.auth === 'cos' ? 'cos' : r?.auth === 'oss-header' || r?.auth === 'oss-post' ? 'oss' : 's3');

/**
 * A client that sent `Expect: 100-continue` (curl does for any large PUT) is
 * told to go on only when its body is about to be read, so a PUT refused
 * before that (signature, used credential, declared size over the limit) is
 * answered before a byte of the file is sent.
 */
function continuer(req: FastifyRequest, reply: FastifyReply): () => void {
  let sent = !expectsContinue(req);
  return () => {
    if (!sent) reply.raw.writeContinue();
    sent = true;
  };
}

async function readSmallBody(req: FastifyRequest, reply: FastifyReply, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  continuer(req, reply)();
  for await (const c of req.raw as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw err('TooLarge', 'the request document is too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const embeddedStore: FastifyPluginAsync<StoreOptions> = async (f, { bucket }) => {
  const app = f.app;
  const clusterId = app.uploads.clusterOfBucket(bucket)!;
  const disk = app.uploads.store(clusterId) as DiskStore;
  const multipart = new Multipart(app);

  // Bodies are streams handed to the handlers untouched.
  f.removeAllContentTypeParsers();
  f.addContentTypeParser('*', (_req, _payload, done) => done(null));

  f.setErrorHandler((e, req, reply) => {
    let r: StoreRequest | undefined;
    try {
      r = readStoreRequest(req, bucket);
    } catch {
      /* the request line itself was bad; answer in S3's words */
    }
    return sendStoreError(protocolOf(r), e, req, reply);
  });

  const etag = (md5: string, oss: boolean) => `"${oss ? md5.toUpperCase() : md5}"`;

  async function put(r: StoreRequest, req: FastifyRequest, reply: FastifyReply) {
    const oss = r.auth === 'oss-header';
    const { upload } = oss ? await authorizeOssHeader(app, bucket, clusterId, r) : await authorizeUrl(app, bucket, clusterId, r);
    const length = contentLength(req);
    if (oss && r.query.has('uploadId')) {
      const md5 = await multipart.uploadPart(upload, r.query.get('uploadId'), r.query.get('partNumber'), req.raw, length, continuer(req, reply));
      return reply.header('etag', etag(md5, true)).header('x-oss-request-id', req.id).status(200).send();
    }
    if (length === undefined && req.headers['transfer-encoding'] === undefined) {
      throw new SignatureError('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411);
    }
    const done = await app.uploads.receive(upload, req.raw, { expectedBytes: length, contentMd5Hex: contentMd5Hex(req), beforeRead: continuer(req, reply) });
    if (oss) reply.header('x-oss-request-id', req.id).header('content-md5', Buffer.from(done.md5!, 'hex').toString('base64'));
    return reply.header('etag', etag(done.md5!, oss)).status(200).send();
  }

  async function get(r: StoreRequest, req: FastifyRequest, reply: FastifyReply) {
    // Exports are written by the service, not uploaded: a valid signed URL is all they need.
    if (r.auth !== 'oss-header' && r.key.startsWith('exports/')) {
      verifyUrl(app, bucket, r);
      const info = await disk.head(r.key);
      if (!info) throw err('NotFound', 'The specified key does not exist.');
      reply.header('content-length', info.size).header('last-modified', info.lastModified.toUTCString()).type('application/gzip');
      if (req.method === 'HEAD') return reply.status(200).send();
      return reply.status(200).send(await disk.get(r.key));
    }
    const { upload } = r.auth === 'oss-header' ? await authorizeOssHeader(app, bucket, clusterId, r) : await authorizeUrl(app, bucket, clusterId, r);
    if (upload.status !== 'READY') throw err('UploadNotReady', 'The specified key does not exist.');
    const info = await disk.head(upload.storageKey);
    if (!info) throw err('NotFound', 'The specified key does not exist.');
    reply
      .header('etag', etag(upload.md5!, r.auth === 'oss-header'))
      .header('content-length', info.size)
      .header('last-modified', info.lastModified.toUTCString())
      .type(upload.format === 'gzip' ? 'application/gzip' : 'text/plain; charset=utf-8');
    if (req.method === 'HEAD') return reply.status(200).send();
    return reply.status(200).send(await disk.get(upload.storageKey));
  }

  async function post(r: StoreRequest, req: FastifyRequest, reply: FastifyReply) {
    if (r.auth === 'oss-post') {
      // The policy travels in the form itself: the body is needed before anything can be checked.
      if (expectsContinue(req)) reply.raw.writeContinue();
      const { upload, fields } = await postObject(app, bucket, clusterId, req);
      const status = Number(fields.success_action_status ?? fields['Success_action_status'] ?? 204);
      reply.header('etag', etag(upload.md5!, true)).header('x-oss-request-id', req.id);
      if (status === 200) return reply.status(200).send();
      if (status === 201) {
        return reply
          .status(201)
          .type('application/xml')
          .send(xmlDoc('PostResponse', { Bucket: bucket, Location: `${app.config.publicUrl}/${bucket}/${upload.storageKey}`, Key: upload.storageKey, ETag: etag(upload.md5!, true) }));
      }
      return reply.status(204).send();
    }
    if (r.auth !== 'oss-header') throw new SignatureError('AccessDenied', 'Anonymous access is forbidden for this operation', 403);
    const { upload } = await authorizeOssHeader(app, bucket, clusterId, r);
    if (r.query.has('uploads')) {
      const id = await multipart.initiate(upload);
      return reply
        .header('x-oss-request-id', req.id)
        .type('application/xml')
        .send(xmlDoc('InitiateMultipartUploadResult', { Bucket: bucket, Key: upload.storageKey, UploadId: id }));
    }
    if (r.query.has('uploadId')) {
      const done = await multipart.complete(upload, r.query.get('uploadId'), await readSmallBody(req, reply));
      return reply
        .header('x-oss-request-id', req.id)
        .header('etag', etag(done.md5!, true))
        .type('application/xml')
        .send(xmlDoc('CompleteMultipartUploadResult', { Location: `${app.config.publicUrl}/${bucket}/${done.storageKey}`, Bucket: bucket, Key: done.storageKey, ETag: etag(done.md5!, true) }));
    }
    throw err('InvalidRequest', 'unsupported POST on an object');
  }

  async function del(r: StoreRequest, req: FastifyRequest, reply: FastifyReply) {
    if (r.auth !== 'oss-header' || !r.query.has('uploadId')) throw new SignatureError('AccessDenied', 'Objects are deleted through the API, not the store', 403);
    const { upload } = await authorizeOssHeader(app, bucket, clusterId, r);
    await multipart.abort(upload, r.query.get('uploadId'));
    return reply.header('x-oss-request-id', req.id).status(204).send();
  }

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const r = readStoreRequest(req, bucket);
    switch (req.method) {
      case 'PUT':
        return put(r, req, reply);
      case 'GET':
      case 'HEAD':
        return get(r, req, reply);
      case 'POST':
        return post(r, req, reply);
      case 'DELETE':
        return del(r, req, reply);
      default:
        throw new SignatureError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    }
  };
  const methods = ['PUT', 'GET', 'HEAD', 'POST', 'DELETE'] as const;
  const config = { lazyContinue: true };
  f.route({ method: [...methods], url: '/*', handler, config, schema: { hide: true } });
  f.route({ method: [...methods], url: '/', handler, config, schema: { hide: true } });
};

// OSS PostObject: a browser-style multipart form whose text fields carry a
// signed policy and whose last part is the file. The policy is checked when
// the file part begins (every field OSS allows before it has arrived); the
// file streams through the same check as a PUT, bounded by the policy's
// content-length-range.
import busboy from 'busboy';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app.js';
import type { Upload } from '../../domain/uploads/types.js';
import { err } from '../../errors.js';
import { verifyPostPolicy } from '../../protocols/oss-post-policy.js';
import { SignatureError } from '../../protocols/types.js';

export interface PostResult {
  upload: Upload;
  fields: Record<string, string>;
}

/** The least the file part can hold, from the form's Content-Length, the bytes already read and the closing `\r\n--boundary--`. */
function fileAtLeast(req: FastifyRequest, received: number): number | undefined {
  const length = Number(req.headers['content-length']);
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
  if (!Number.isSafeInteger(length) || !boundary) return undefined;
  const rest = length - received - `\r\n--${boundary[1] ?? boundary[2]}--`.length;
  return rest > 0 ? rest : undefined;
}

export function postObject(app: App, bucket: string, clusterId: number, req: FastifyRequest): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fields: 64, fieldSize: 64 * 1024, files: 1, parts: 80 }, highWaterMark: 1 << 20 });
    } catch (e) {
      reject(err('InvalidRequest', `the form cannot be read: ${(e as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    // Bytes of the request read so far: when the file part begins, the
    // Content-Length less these (and the closing boundary) is a lower bound on
    // the file's size, so an oversized file is refused before it is sent.
    let received = 0;
    const count = (c: Buffer) => void (received += c.length);
    req.raw.on('data', count);
    const fail = (e: unknown) => {
      req.raw.off('data', count);
      req.raw.unpipe(bb);
      reject(e);
    };
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    let processing: Promise<Upload> | undefined;
    bb.on('file', (name, stream) => {
      if (processing || name.toLowerCase() !== 'file') {
        stream.resume();
        return;
      }
      const readBeforeFile = received;
      req.raw.off('data', count);
      processing = (async () => {
        const policy = verifyPostPolicy(fields, {
          bucket,
          now: new Date(app.now()),
          lookupSecret: (id) => app.storeCredentials.secretFor(id, bucket),
        });
        const upload = await app.uploads.findByKey(clusterId, policy.key);
        if (!upload) throw new SignatureError('AccessDenied', 'this key was not issued for upload', 403);
        const [minBytes, maxBytes] = policy.contentLengthRange ?? [undefined, undefined];
        return app.uploads.receive(upload, stream, { minBytes, maxBytes, atLeastBytes: fileAtLeast(req, readBeforeFile) });
      })();
      processing.catch((e) => {
        stream.resume();
        fail(e);
      });
    });
    bb.on('error', (e) => fail(err('InvalidRequest', `the form cannot be read: ${(e as Error).message}`)));
    bb.on('close', () => {
      if (!processing) reject(err('MissingParameter', 'the form has no file field (it must come last)', 'file'));
      else processing.then((upload) => resolve({ upload, fields }), reject);
    });
    req.raw.on('aborted', () => fail(err('IncompleteBody', 'the connection closed before the form was complete')));
    req.raw.pipe(bb);
  });
}

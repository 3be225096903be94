// Reading a store request: which protocol signed it, and which object it names.
import type { FastifyRequest } from 'fastify';
import { isSafeKey } from '../../domain/uploads/keys.js';
import { err } from '../../errors.js';
import { decodePath } from '../../protocols/encoding.js';
import type { SignedRequest } from '../../protocols/types.js';

export type Auth = 's3' | 'cos' | 'oss-header' | 'oss-post' | 'none';

export interface StoreRequest {
  signed: SignedRequest;
  /** Decoded object key ('' for the bucket itself). */
  key: string;
  /** True when the bucket came from the Host header rather than the path. */
  virtualHost: boolean;
  query: URLSearchParams;
  auth: Auth;
}

export function readStoreRequest(req: FastifyRequest, bucket: string): StoreRequest {
  const original = (req.raw as { originalUrl?: string }).originalUrl ?? req.raw.url ?? '/';
  const q = original.indexOf('?');
  const rawPath = q === -1 ? original : original.slice(0, q);
  const rawQuery = q === -1 ? '' : original.slice(q + 1);
  const routed = (req.raw.url ?? '/').split('?')[0];
  const virtualHost = !rawPath.startsWith(`/${bucket}/`) && rawPath !== `/${bucket}` && routed.startsWith(`/${bucket}`);
  const keyPart = virtualHost ? rawPath.slice(1) : rawPath.slice(bucket.length + 2);
  const key = keyPart === '' ? '' : decodePath(keyPart);
  if (key === undefined || (key !== '' && !isSafeKey(key))) throw err('InvalidParameter', 'the object key is not acceptable', 'key');
  const signed: SignedRequest = { method: req.method.toUpperCase(), rawPath, rawQuery, headers: req.headers };
  return { signed, key, virtualHost, query: new URLSearchParams(rawQuery), auth: detectAuth(req, rawQuery) };
}

function detectAuth(req: FastifyRequest, rawQuery: string): Auth {
  const auth = req.headers.authorization ?? '';
  // Any of the SigV4 query parameters marks an S3 pre-signed URL, so that a URL
  // missing one of them is told which, rather than treated as anonymous.
  if (/(^|&)X-Amz-(Signature|Credential|Algorithm|Date|Expires|SignedHeaders)=/i.test(rawQuery)) return 's3';
  if (/(^|&)q-signature=/.test(rawQuery) || auth.includes('q-sign-algorithm=')) return 'cos';
  if (auth.startsWith('OSS ') || auth.startsWith('OSS4-HMAC-SHA256')) return 'oss-header';
  if (req.method === 'POST' && /^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) return 'oss-post';
  return 'none';
}

export function contentLength(req: FastifyRequest): number | undefined {
  const v = req.headers['content-length'];
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw err('InvalidRequest', 'Content-Length is not a number', 'Content-Length');
  return Number(v);
}

/** Content-MD5 (base64 of 16 bytes) as hex, when the request sent one. */
export function contentMd5Hex(req: FastifyRequest): string | undefined {
  const v = req.headers['content-md5'];
  if (v === undefined) return undefined;
  const raw = Buffer.from(String(v), 'base64');
  if (raw.length !== 16) throw err('InvalidParameter', 'Content-MD5 must be the base64 of a 16-byte MD5', 'Content-MD5');
  return raw.toString('hex');
}

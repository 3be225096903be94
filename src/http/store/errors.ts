// Each protocol the embedded store speaks has its own error vocabulary. The
// domain's codes are mapped here once; signature errors already carry the
// vendor's code from the verifier.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../../errors.js';
import { SignatureError } from '../../protocols/types.js';
import { toAppError } from '../errors.js';
import { xmlDoc } from './xml.js';

export type StoreProtocol = 's3' | 'cos' | 'oss';

type Mapped = [code: string, status: number];

const S3: Partial<Record<ErrorCode, Mapped>> = {
  Md5Mismatch: ['BadDigest', 400],
  SizeMismatch: ['BadRequest', 400],
  TooLarge: ['EntityTooLarge', 400],
  TooSmall: ['EntityTooSmall', 400],
  IncompleteBody: ['IncompleteBody', 400],
  UploadAlreadyCompleted: ['UploadAlreadyCompleted', 409],
  CredentialExpired: ['AccessDenied', 403],
  UploadNotFound: ['NoSuchKey', 404],
  UploadNotReady: ['NoSuchKey', 404],
  NotFound: ['NoSuchKey', 404],
  Forbidden: ['AccessDenied', 403],
  InvalidRequest: ['InvalidRequest', 400],
  InvalidParameter: ['InvalidArgument', 400],
  NotAudienceFile: ['NotAudienceFile', 400],
  GzipCorrupt: ['GzipCorrupt', 400],
  GzipBomb: ['GzipBomb', 400],
  InvalidPart: ['InvalidPart', 400],
  NoSuchUpload: ['NoSuchUpload', 404],
};

/** OSS answers as S3 does but for these. */
const OSS: Partial<Record<ErrorCode, Mapped>> = {
  ...S3,
  Md5Mismatch: ['InvalidDigest', 400],
  UploadAlreadyCompleted: ['FileAlreadyExists', 409],
};

export const MAPS: Record<StoreProtocol, Partial<Record<ErrorCode, Mapped>>> = { s3: S3, cos: S3, oss: OSS };

export function storeError(protocol: StoreProtocol, e: unknown): { code: string; status: number; message: string } {
  if (e instanceof SignatureError) return { code: e.code, status: e.status, message: e.message };
  const ae: AppError = toAppError(e);
  const [code, status] = MAPS[protocol][ae.code] ?? (ae.status >= 500 ? ['InternalError', 500] : [ae.code, ae.status]);
  return { code, status, message: ae.message };
}

export function sendStoreError(protocol: StoreProtocol, e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const { code, status, message } = storeError(protocol, e);
  if (status >= 500) req.log.error({ err: e }, 'store request failed');
  const resource = (req.raw.url ?? '').split('?')[0];
  const fields =
    protocol === 'oss'
      ? { Code: code, Message: message, RequestId: req.id, HostId: req.headers.host ?? '' }
      : { Code: code, Message: message, Resource: resource, RequestId: req.id };
  if (protocol === 'oss') reply.header('x-oss-request-id', req.id);
  // The body of a refused upload may still be arriving; close the connection rather than read it all.
  if (!req.raw.complete) reply.header('connection', 'close');
  return reply.status(status).type('application/xml').send(xmlDoc('Error', fields));
}


// Aliyun RPC errors: {"RequestId", "HostId", "Code", "Message", "Recommend"}
// with the HTTP status Aliyun uses for the code.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { SignatureError } from '../../../protocols/types.js';
import { messageNamingField, refusalOf } from '../../errors.js';

export const CODES: Partial<Record<ErrorCode, [string, number]>> = {
  InvalidRequest: ['InvalidParameter', 400],
  InvalidParameter: ['InvalidParameter', 400],
  MissingParameter: ['MissingParameter', 400],
  InvalidFileName: ['InvalidParameter', 400],
  TooLarge: ['InvalidParameter', 400],
  Unauthenticated: ['MissingSignature', 400],
  UnknownKey: ['InvalidAccessKeyId.NotFound', 404],
  RevokedKey: ['InvalidAccessKeyId.Inactive', 400],
  BadSignature: ['SignatureDoesNotMatch', 400],
  ClockSkew: ['InvalidTimeStamp.Expired', 400],
  NonceReused: ['SignatureNonceUsed', 400],
  Forbidden: ['Forbidden', 403],
  RateLimited: ['Throttling', 400],
  UnsupportedRegion: ['InvalidRegionId', 400],
  NotFound: ['InvalidParameter.NotFound', 404],
  // IMS's common error for a missing media asset (https://help.aliyun.com/document_detail/197855.html).
  UploadNotFound: ['ResourceNotFound', 404],
  UploadNotReady: ['Forbidden.OperationNotAllowed', 403],
};

export function aliOk(reply: FastifyReply, requestId: string, body: Record<string, unknown>) {
  return reply.status(200).send({ RequestId: requestId, ...body });
}

export function aliError(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  let code: string;
  let status: number;
  let message: string;
  if (e instanceof SignatureError) {
    [code, status, message] = [e.code, e.status, e.message];
  } else {
    const ae = refusalOf(e, req, 'aliyun request failed');
    [code, status] = CODES[ae.code] ?? (ae.status >= 500 ? ['InternalError', 500] : ['InvalidParameter', 400]);
    message = messageNamingField(ae);
  }
  return reply.status(status).send({ RequestId: req.id, HostId: req.headers.host ?? '', Code: code, Message: message, Recommend: '' });
}

// Tencent Cloud API 3.0 answers every call with HTTP 200 and either
// {"Response": {…, "RequestId"}} or {"Response": {"Error": {"Code", "Message"}, "RequestId"}}.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { SignatureError } from '../../../protocols/types.js';
import { messageNamingField, refusalOf } from '../../errors.js';

export const CODES: Partial<Record<ErrorCode, string>> = {
  InvalidRequest: 'InvalidParameter',
  InvalidParameter: 'InvalidParameterValue',
  MissingParameter: 'MissingParameter',
  InvalidFileName: 'InvalidParameterValue',
  Unauthenticated: 'AuthFailure.SignatureFailure',
  UnknownKey: 'AuthFailure.SecretIdNotFound',
  RevokedKey: 'AuthFailure.SecretIdNotFound',
  BadSignature: 'AuthFailure.SignatureFailure',
  ClockSkew: 'AuthFailure.SignatureExpire',
  Forbidden: 'AuthFailure.UnauthorizedOperation',
  RateLimited: 'RequestLimitExceeded',
  UnsupportedRegion: 'UnsupportedRegion',
  UnknownCluster: 'UnsupportedRegion',
  NotFound: 'ResourceNotFound',
  UploadNotFound: 'ResourceNotFound',
  TooLarge: 'InvalidParameterValue',
};

export function tcOk(reply: FastifyReply, requestId: string, body: Record<string, unknown>) {
  return reply.status(200).send({ Response: { ...body, RequestId: requestId } });
}

export function tcError(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  let code: string;
  let message: string;
  if (e instanceof SignatureError) {
    code = e.code;
    message = e.message;
  } else {
    const ae = refusalOf(e, req, 'tencent cloud request failed');
    code = CODES[ae.code] ?? (ae.status >= 500 ? 'InternalError' : 'InvalidParameter');
    message = messageNamingField(ae);
  }
  return reply.status(200).send({ Response: { Error: { Code: code, Message: message }, RequestId: req.id } });
}

// Mintegral's envelope: {"code": 200, "msg": "success", "data": …}. The seed's
// example spells the text field `message`, so both are sent. Codes are
// Mintegral-style numbers; the HTTP status mirrors the kind of refusal.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { SignatureError } from '../../../protocols/types.js';
import { messageNamingField, refusalOf } from '../../errors.js';

export const CODES: Partial<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  InvalidParameter: 400,
  MissingParameter: 400,
  InvalidFileName: 400,
  UnknownCluster: 400,
  TooLarge: 400,
  Unauthenticated: 401,
  BadSignature: 401,
  ClockSkew: 402,
  UnknownKey: 403,
  RevokedKey: 403,
  Forbidden: 403,
  NotFound: 404,
  UploadNotFound: 404,
  UploadNotReady: 409,
  AudienceNotFound: 404,
  AudienceNameTaken: 409,
  UpdateTooSoon: 409,
  RateLimited: 429,
};

export function ok(data: unknown) {
  return { code: 200, msg: 'success', message: 'success', data };
}

export function mintegralErrorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  if (e instanceof SignatureError) {
    return reply.status(e.status).send({ code: Number(e.code), msg: e.message, message: e.message, data: null, request_id: req.id });
  }
  const ae = refusalOf(e, req, 'mintegral request failed');
  const code = CODES[ae.code] ?? (ae.status >= 500 ? 500 : 400);
  const msg = messageNamingField(ae);
  return reply.status(ae.status).send({ code, msg, message: msg, data: null, request_id: req.id });
}

// PAI's envelope: {"Data", "ErrorCode", "ErrorMessage", "RequestId"}.
// ErrorCode 0 and "OK" on success; on failure the seed's numeric codes, which
// are HTTP statuses (400, 403, 404, 500), and the HTTP status is the same
// number, so a client that reads either one agrees. Codes the seed does not
// list follow the same convention: 401 for bad credentials, 429 for the
// documented per-account QPS ceiling, 501 for a source this deployment
// cannot serve yet.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { messageNamingField, refusalOf } from '../../errors.js';

export const CODES: Partial<Record<ErrorCode, number>> = {
  InvalidRequest: 400,
  InvalidParameter: 400,
  MissingParameter: 400,
  TooLarge: 400,
  UploadNotReady: 400,
  // PAI has no conflict code; a taken name is a bad request.
  AudienceNameTaken: 400,
  Unauthenticated: 401,
  UnknownKey: 401,
  RevokedKey: 401,
  Forbidden: 403,
  NotFound: 404,
  AudienceNotFound: 404,
  UploadNotFound: 404,
  RateLimited: 429,
  InternalError: 500,
  NotAvailable: 501,
};

export function paiOk(req: FastifyRequest, data: unknown) {
  return { Data: data, ErrorCode: 0, ErrorMessage: 'OK', RequestId: req.id };
}

export function paiErrorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const ae = refusalOf(e, req, 'pai request failed');
  const code = CODES[ae.code] ?? (ae.status >= 500 ? 500 : 400);
  return reply.status(code).send({ Data: null, ErrorCode: code, ErrorMessage: messageNamingField(ae), RequestId: req.id });
}

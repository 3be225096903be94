// The native error shape: {"error": {"code", "message", "field"?, "request_id"}}
// with the error's own HTTP status. Dialects install their own handlers in
// their scopes; this one covers /v1 and anything unscoped.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  const fe = e as FastifyError;
  if (fe?.validation) {
    const first = fe.validation[0];
    const field = first?.instancePath?.replace(/^\//, '').replace(/\//g, '.') || (first?.params as { missingProperty?: string })?.missingProperty;
    return new AppError('InvalidParameter', `${fe.validationContext ?? 'request'}${field ? ` field ${field}` : ''}: ${first?.message ?? fe.message}`, field || undefined);
  }
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AppError('TooLarge', 'the request body is too large');
  if (fe?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AppError('InvalidRequest', `unsupported Content-Type`);
  if (fe?.statusCode && fe.statusCode < 500) return new AppError('InvalidRequest', fe.message);
  return new AppError('InternalError');
}

/** A message that names its field, for envelopes that have no field of their own (every vendor dialect). */
export function messageNamingField(ae: AppError): string {
  return ae.field && !ae.message.includes(ae.field) ? `${ae.field}: ${ae.message}` : ae.message;
}

/** Unknown routes answer in the native shape (dialect scopes install their own). */
export function nativeNotFound(req: FastifyRequest, reply: FastifyReply) {
  return nativeErrorHandler(new AppError('NotFound', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply);
}

export function nativeErrorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const ae = toAppError(e);
  if (ae.status >= 500) req.log.error({ err: e }, 'request failed');
  return reply.status(ae.status).send({ error: { code: ae.code, message: ae.message, ...(ae.field ? { field: ae.field } : {}), request_id: req.id } });
}

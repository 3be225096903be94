// The native error shape: {"error": {"code", "message", "field"?, "request_id"}}
// with the error's own HTTP status. Dialects install their own handlers in
// their scopes; this one covers /v1 and anything unscoped.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, err } from '../errors.js';

type ErrorHandler = (e: unknown, req: FastifyRequest, reply: FastifyReply) => unknown;

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

/**
 * The AppError an error handler answers with. A failure of the service's own
 * (5xx) is logged as `what`; NotAvailable is a refusal, not a failure, and is not.
 */
export function refusalOf(e: unknown, req: FastifyRequest, what = 'request failed'): AppError {
  const ae = toAppError(e);
  if (ae.status >= 500 && ae.code !== 'NotAvailable') req.log.error({ err: e }, what);
  return ae;
}

/** A not-found handler: an unknown route is answered through `handler`, in the envelope of its API's scope. */
export function notFoundVia(handler: ErrorHandler) {
  return (req: FastifyRequest, reply: FastifyReply) => handler(err('NotFound', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply);
}

export function nativeErrorHandler(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const ae = refusalOf(e, req);
  return reply.status(ae.status).send({ error: { code: ae.code, message: ae.message, ...(ae.field ? { field: ae.field } : {}), request_id: req.id } });
}

/** Unknown routes answer in the native shape (dialect scopes install their own). */
export const nativeNotFound = notFoundVia(nativeErrorHandler);

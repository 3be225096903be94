// Tencent Marketing API envelope: {"code": 0, "message": "", "message_cn": "", "data": …}
// with HTTP 200; a refusal has a non-zero code and both messages. Codes for
// authorization failures follow the vendor's 11xxx range; the exact numbers
// are listed in docs/errors.md.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { toAppError } from '../../errors.js';

export const ADS_CODES: Partial<Record<ErrorCode, [number, string]>> = {
  Unauthenticated: [11000, '缺少 access_token 参数'],
  InvalidToken: [11000, 'access_token 无效'],
  TokenExpired: [11001, 'access_token 已过期'],
  ClockSkew: [11002, 'timestamp 与服务器时间相差超过 300 秒'],
  NonceReused: [11003, 'nonce 已被使用过'],
  RevokedKey: [11004, '签发 access_token 的密钥已被吊销'],
  UnknownKey: [11000, 'access_token 无效'],
  Forbidden: [11017, '没有权限访问该账户'],
  MissingParameter: [31001, '缺少必填参数'],
  InvalidParameter: [31002, '参数值不合法'],
  InvalidRequest: [31002, '请求格式不合法'],
  RateLimited: [11016, '接口调用次数超限'],
  NotFound: [31005, '资源不存在'],
};

export function adsOk(data: unknown) {
  return { code: 0, message: '', message_cn: '', data };
}

export function adsError(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const ae = toAppError(e);
  if (ae.status >= 500) req.log.error({ err: e }, 'tencent ads request failed');
  const [code, cn] = ADS_CODES[ae.code] ?? (ae.status >= 500 ? [10000, '系统繁忙，请稍后重试'] : [31002, '请求不合法']);
  const message = ae.field && !ae.message.includes(ae.field) ? `${ae.field}: ${ae.message}` : ae.message;
  return reply.status(200).send({ code, message: `${message} (trace_id: ${req.id})`, message_cn: `${cn}${ae.field ? `，字段：${ae.field}` : ''}`, data: {} });
}

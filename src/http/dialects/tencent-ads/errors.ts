// Tencent Marketing API envelope: {"code": 0, "message": "", "message_cn": "", "data": …}
// with HTTP 200; a refusal has a non-zero code and both messages.
//
// Authorization codes follow the vendor's table (developers.e.qq.com/v3.0/docs/errors):
// 11000 access token expired, 11002 access token invalid, 11005 access token
// empty, 11012 refresh token expired, 11014 out of the scope of authority,
// 11016 per-second request limit, 12000 one of access_token, timestamp and
// nonce missing. The table we could read names no number for a timestamp
// beyond the 300 s window or a reused nonce; 11001 and 11003 are our choice,
// picked because the vendor's table leaves them unused.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../../errors.js';
import { messageNamingField, refusalOf } from '../../errors.js';

export const ADS_CODES: Partial<Record<ErrorCode, [number, string]>> = {
  Unauthenticated: [11005, 'access_token 为必填字段'],
  TokenExpired: [11000, 'access_token 已过期'],
  InvalidToken: [11002, 'access_token 无效'],
  UnknownKey: [11002, 'access_token 无效'],
  // A token dies with the key it was issued from.
  RevokedKey: [11002, 'access_token 无效：签发它的密钥已被吊销'],
  ClockSkew: [11001, 'timestamp 与服务器时间相差超过 300 秒'],
  NonceReused: [11003, 'nonce 已被使用过'],
  Forbidden: [11014, '没有权限访问该资源'],
  RateLimited: [11016, '已达到每秒的请求限制'],
  MissingParameter: [31001, '缺少必填参数'],
  InvalidParameter: [31002, '参数值不合法'],
  InvalidRequest: [31002, '请求格式不合法'],
  NotFound: [31005, '资源不存在'],
  // Audience calls. The vendor's business codes for these cases are not in
  // the table we could read; 31003-31010 are our choice, next to its 31xxx
  // parameter codes.
  AudienceNotFound: [31005, '人群不存在'],
  UploadNotFound: [31005, '文件不存在'],
  ActionSetNotFound: [31005, '用户行为数据源不存在'],
  // A grant to an account that does not exist (audience_grant_relations/add).
  AccountNotFound: [31005, '帐号不存在'],
  AudienceNameTaken: [31003, '同一帐号下人群名称不能重复'],
  ActionSetNameTaken: [31003, '同一帐号下用户行为数据源名称不能重复'],
  AudienceNotReady: [31004, '人群状态不是成功可用'],
  UploadNotReady: [31004, '文件尚未上传完成'],
  NotAvailable: [31010, '该功能在此部署上不可用'],
  // custom_audience_files/add: the file is a parameter, so a file refused for
  // its size or its content is 31002 like any other value out of its rules.
  TooLarge: [31002, '文件大小超过限制'],
  NotAudienceFile: [31002, '文件格式不合法：只接受 txt、csv 文件或其 zip 包'],
};

/** Where the vendor's code depends on which parameter failed (`<code>:<field>`). */
export const BY_FIELD: Record<string, [number, string]> = {
  'MissingParameter:timestamp': [12000, '缺少必填参数 access_token、timestamp 或 nonce'],
  'MissingParameter:nonce': [12000, '缺少必填参数 access_token、timestamp 或 nonce'],
  'TokenExpired:refresh_token': [11012, 'refresh_token 已过期'],
};

export function adsOk(data: unknown) {
  return { code: 0, message: '', message_cn: '', data };
}

export function adsError(e: unknown, req: FastifyRequest, reply: FastifyReply) {
  const ae = refusalOf(e, req, 'tencent ads request failed');
  const [code, cn] = BY_FIELD[`${ae.code}:${ae.field}`] ?? ADS_CODES[ae.code] ?? (ae.status >= 500 ? [10000, '系统繁忙，请稍后重试'] : [31002, '请求不合法']);
  const message = messageNamingField(ae);
  return reply.status(200).send({ code, message: `${message} (trace_id: ${req.id})`, message_cn: `${cn}${ae.field ? `，字段：${ae.field}` : ''}`, data: {} });
}

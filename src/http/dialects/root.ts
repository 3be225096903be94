// Tencent Cloud API 3.0 and Aliyun RPC both post to `/`: Tencent names the
// action in the X-TC-Action header, Aliyun in the Action parameter (query or
// form body; signature V1) or in the x-acs-action header (signature V3,
// ACS3-HMAC-SHA256). Bodies are kept raw here because the signatures cover them.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { err } from '../../errors.js';
import { isAcs3Authorization } from '../../protocols/aliyun-acs3.js';
import { nativeErrorHandler } from '../errors.js';
import { aliyunRpc } from './aliyun/index.js';
import { tencentCloud } from './tencent-cloud/index.js';

export const rootDialects: FastifyPluginAsync = async (f) => {
  f.removeAllContentTypeParsers();
  f.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 1 << 20 }, (_req, body, done) => done(null, body));
  const tc = await tencentCloud(f);
  const ali = await aliyunRpc(f);

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.headers['x-tc-action'] !== undefined) return tc(req, reply);
    if (req.headers['x-acs-action'] !== undefined || isAcs3Authorization(req.headers.authorization)) return ali(req, reply);
    const query = (req.raw.url ?? '').split('?')[1] ?? '';
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    if (/(^|&)Action=/.test(query) || /(^|&)Action=/.test(body)) return ali(req, reply);
    if (req.method === 'GET') return reply.redirect('/docs');
    return nativeErrorHandler(err('NotFound', 'POST / needs an X-TC-Action header (Tencent Cloud) or an Action parameter or x-acs-action header (Aliyun)'), req, reply);
  };
  f.route({ method: ['GET', 'POST'], url: '/', handler, schema: { hide: true } });
};

// The Mintegral open API dialect, under /api/open/v1.
import type { FastifyPluginAsync } from 'fastify';
import { err } from '../../../errors.js';
import { audiences } from './audiences.js';
import { authenticateMintegral } from './auth.js';
import { mintegralErrorHandler } from './errors.js';
import { presignedUpload } from './presigned-upload.js';

export const mintegral: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(mintegralErrorHandler);
  f.setNotFoundHandler((req, reply) => mintegralErrorHandler(err('NotFound', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply));
  f.addHook('onRequest', async (req) => authenticateMintegral(f.app, req));
  await f.register(presignedUpload);
  await f.register(audiences);
};

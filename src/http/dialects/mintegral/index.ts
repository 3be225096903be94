// The Mintegral open API dialect, under /api/open/v1.
import type { FastifyPluginAsync } from 'fastify';
import { notFoundVia } from '../../errors.js';
import { audiences } from './audiences.js';
import { authenticateMintegral } from './auth.js';
import { mintegralErrorHandler } from './errors.js';
import { presignedUpload } from './presigned-upload.js';

export const mintegral: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(mintegralErrorHandler);
  f.setNotFoundHandler(notFoundVia(mintegralErrorHandler));
  f.addHook('onRequest', async (req) => authenticateMintegral(f.app, req));
  await f.register(presignedUpload);
  await f.register(audiences);
};

// The Mintegral open API dialect, under /api/open/v1.
import type { FastifyPluginAsync } from 'fastify';
import { authenticateMintegral } from './auth.js';
import { mintegralErrorHandler } from './errors.js';
import { presignedUpload } from './presigned-upload.js';

export const mintegral: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(mintegralErrorHandler);
  f.addHook('onRequest', async (req) => authenticateMintegral(f.app, req));
  await f.register(presignedUpload);
};

// The PAI audience-group dialect (seed 004), under /api/PaiPlugin/2022-01-12:
// the vendor's base path, so a client pointed at this host with the seed's
// requests works unchanged. Bearer key auth, as the native API.
import type { FastifyPluginAsync } from 'fastify';
import { notFoundVia } from '../../errors.js';
import { authenticateBearer } from '../../native/auth.js';
import { paiErrorHandler } from './errors.js';
import { groupRoutes } from './groups.js';

export const PAI_PREFIX = '/api/PaiPlugin/2022-01-12';

export const pai: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(paiErrorHandler);
  f.setNotFoundHandler(notFoundVia(paiErrorHandler));
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));
  await f.register(groupRoutes);
};

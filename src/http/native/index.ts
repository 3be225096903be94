// The native API, /v1.
import type { FastifyPluginAsync } from 'fastify';
import { nativeErrorHandler } from '../errors.js';
import { accountRoutes, adminRoutes, tokenRefreshRoute } from './accounts.js';
import { audienceRoutes } from './audiences.js';
import { eventRoutes } from './events.js';
import { uploadRoutes } from './uploads.js';
import { usageRoutes } from './usage.js';

export const nativeApi: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(nativeErrorHandler);
  await f.register(adminRoutes, { prefix: '/admin' });
  await f.register(accountRoutes);
  await f.register(tokenRefreshRoute);
  await f.register(uploadRoutes);
  await f.register(audienceRoutes);
  await f.register(usageRoutes);
  await f.register(eventRoutes);
  f.get('/clusters', { schema: { tags: ['clusters'], summary: 'The data clusters uploads can go to' } }, async () => ({
    items: f.app.config.clusters.map((c) => ({ id: c.id, name: c.name, backend: c.backend, bucket: c.bucket, region: c.region })),
  }));
};

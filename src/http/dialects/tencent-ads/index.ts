// The Tencent Marketing API dialect: /oauth for tokens and /v1.3 for the
// audience endpoints (custom audiences, their files, estimates and grants)
// and the behaviour data they read (user action sets, user actions). Every
// /v1.3 call is authenticated by access_token, timestamp and nonce.
import type { FastifyPluginAsync } from 'fastify';
import { notFoundVia } from '../../errors.js';
import { adsAudiences } from './audiences.js';
import { authenticateAds } from './auth.js';
import { adsError } from './errors.js';
import { adsEstimations } from './estimations.js';
import { adsAudienceFiles } from './files.js';
import { adsGrants } from './grants.js';
import { adsOauth } from './oauth.js';
import { adsUserActions } from './user-actions.js';

export const tencentAdsApi: FastifyPluginAsync = async (f) => {
  f.setErrorHandler(adsError);
  f.setNotFoundHandler(notFoundVia(adsError));
  f.addHook('onRequest', async (req) => authenticateAds(f.app, req));
  await f.register(adsAudiences);
  await f.register(adsAudienceFiles);
  await f.register(adsEstimations);
  await f.register(adsGrants);
  await f.register(adsUserActions);
};

export const tencentAds: FastifyPluginAsync = async (f) => {
  await f.register(adsOauth, { prefix: '/oauth' });
  await f.register(tencentAdsApi, { prefix: '/v1.3' });
};

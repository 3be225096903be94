// Alibaba Cloud ICE (Intelligent Media Services), version 2020-11-09: the
// media-upload actions. Each action is one file; RegionId, when a client sends
// it, must be one of the regions ICE is served for (config.ice.regions).
import { err } from '../../../../errors.js';
import type { App } from '../../../../app.js';
import type { AliAction } from '../index.js';
import { createUploadMedia } from './create-upload-media.js';
import { getMediaInfo } from './get-media-info.js';
import { refreshUploadMedia } from './refresh-upload-media.js';
import { registerMediaInfo } from './register-media-info.js';

function checkRegion(app: App, params: Record<string, string>): void {
  const region = params.RegionId;
  if (region !== undefined && region !== '' && !app.config.ice.regions.includes(region)) {
    throw err('UnsupportedRegion', `RegionId ${region} is not served; use one of ${app.config.ice.regions.join(', ')}`, 'RegionId');
  }
}

const inRegion =
  (run: AliAction): AliAction =>
  async (app, ctx, req, reply) => {
    checkRegion(app, ctx.params);
    return run(app, ctx, req, reply);
  };

export const ICE_ACTIONS: Record<string, AliAction> = {
  CreateUploadMedia: inRegion(createUploadMedia),
  RefreshUploadMedia: inRegion(refreshUploadMedia),
  GetMediaInfo: inRegion(getMediaInfo),
  RegisterMediaInfo: inRegion(registerMediaInfo),
};

// Alibaba Cloud ICE (Intelligent Media Services), version 2020-11-09.
import type { AliAction } from '../index.js';

export const ICE_ACTIONS: Record<string, AliAction> = {};

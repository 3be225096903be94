// The HTTP server: one port for the native API, every dialect and the embedded
// object store. Store requests are recognised by their bucket, either as the
// first path segment (path-style, as our URLs are made) or as the first label
// of the Host header (virtual-hosted style, as the OSS client sends when given
// an IP endpoint); the latter are rewritten to path-style before routing.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { App } from '../app.js';
import { DiskStore } from '../infra/objects/disk.js';
import { expectsContinue } from './context.js';
import { nativeErrorHandler, nativeNotFound } from './errors.js';
import { nativeApi } from './native/index.js';
import { embeddedStore } from './store/index.js';
import { mintegral } from './dialects/mintegral/index.js';
import { pai, PAI_PREFIX } from './dialects/pai/index.js';
import { rootDialects } from './dialects/root.js';
import { tencentAds } from './dialects/tencent-ads/index.js';

export interface ServerOptions {
  logger?: boolean | { level: string };
}

export function virtualHostBucket(host: string | undefined, buckets: string[]): string | undefined {
  if (!host) return undefined;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return buckets.find((b) => name.startsWith(b + '.'));
}

export async function buildServer(app: App, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const diskBuckets = [...app.stores.values()].filter((s) => s instanceof DiskStore).map((s) => s.bucket);
  const f = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1 << 20,
    genReqId: () => randomUUID(),
    requestTimeout: 0,
    // Request bodies are read in 1 MiB steps rather than Node's 16 KiB default:
    // a multi-GB upload then stops and starts the socket far less often.
    http: { highWaterMark: 1 << 20 },
    rewriteUrl: (req) => {
      const bucket = virtualHostBucket(req.headers.host, diskBuckets);
      return bucket ? `/${bucket}${req.url === '/' ? '' : req.url}` : req.url!;
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  f.decorate('app', app);
  // `Expect: 100-continue` is answered by the routes: the embedded store only
  // once it is ready to read the file (see store/index.ts bodyOf), everything
  // else at once.
  f.server.on('checkContinue', (req, res) => f.server.emit('request', req, res));
  f.addHook('onRequest', async (req, reply) => {
    if (expectsContinue(req) && !req.routeOptions.config?.lazyContinue) {
      reply.raw.writeContinue();
    }
  });
  f.setErrorHandler(nativeErrorHandler);
  f.setNotFoundHandler(nativeNotFound);

  await f.register(swagger, {
    openapi: {
      info: { title: 'AudienceHub native API', version: '1', description: 'Uploads, accounts and keys. Vendor-compatible dialects are documented in docs/dialects.md.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'The key secret, or `<access key id>:<secret>`' },
          admin: { type: 'http', scheme: 'bearer', description: 'The admin token' },
        },
      },
    },
    hideUntagged: true,
  });
  await f.register(swaggerUi, { routePrefix: '/docs' });
  f.get('/openapi.json', { schema: { hide: true } }, async () => f.swagger());
  f.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  await f.register(nativeApi, { prefix: '/v1' });
  for (const bucket of diskBuckets) await f.register(embeddedStore, { prefix: `/${bucket}`, bucket });
  await f.register(mintegral, { prefix: '/api/open/v1' });
  await f.register(pai, { prefix: PAI_PREFIX });
  await f.register(tencentAds);
  await f.register(rootDialects);
  return f;
}

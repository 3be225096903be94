// Picks a backend per cluster from config.
import { join } from 'node:path';
import type { ClusterConfig, Config } from '../../config.js';
import { DiskStore } from './disk.js';
import { embeddedSigner } from './embedded-signer.js';
import type { StoreCredentials } from './store-credentials.js';
import type { ObjectStore } from './types.js';

export async function createStore(cluster: ClusterConfig, config: Config, creds: StoreCredentials, now: () => number): Promise<ObjectStore> {
  if (cluster.backend === 'disk') {
    const regionOf = (bucket: string) => config.clusters.find((c) => c.bucket === bucket)?.region ?? 'us-east-1';
    return new DiskStore(join(config.dataDir, 'objects'), cluster.bucket, embeddedSigner(config.publicUrl, regionOf, creds, now));
  }
  const { S3Store } = await import('./s3.js');
  const s3 = cluster.s3!;
  const store = new S3Store({ ...s3, bucket: cluster.bucket });
  await store.ensureBucket();
  return store;
}

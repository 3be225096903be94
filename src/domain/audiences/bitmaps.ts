// Audience bitmaps in the object store, with a cache in front. A version's
// bitmap never changes once written (a new version is a new object key), so
// a cached copy is never stale and needs no invalidation, in this process or
// across processes; the cache only has to bound its memory.
//
// Eviction is least recently used, with one exception that keeps a large
// read from flushing the cache: a bitmap read from the store takes the place
// only of entries unused for PROTECT_MS; when the space it needs is held by
// entries used more recently, it is handed out without being cached. Without
// it, a COMBINE whose inputs add up to more than the cache (500 x 2 MB
// against the default 512 MiB) evicted each input just before it was needed
// again, so every run read all 500 from the store; with it, the half that
// fits stays (bench/combine.ts). A bitmap just written (a new version) is
// always cached: it is the likeliest to be read next.
import type { Readable } from 'node:stream';
import { deserialize, deserializeFile, serialize, serializedSize, type Bitmap, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import { DiskStore } from '../../infra/objects/disk.js';
import type { ObjectStore } from '../../infra/objects/types.js';

/** How long a use protects an entry from being displaced by a bitmap read from the store. */
const PROTECT_MS = 60_000;

export class BitmapCache {
  /** Insertion order is recency order: a hit moves the entry to the end (so usedAt ascends). */
  private readonly entries = new Map<string, { bitmap: ReadonlyBitmap; bytes: number; usedAt: number }>();
  private readonly loading = new Map<string, Promise<ReadonlyBitmap>>();
  private bytes = 0;

  constructor(
    private readonly stores: ReadonlyMap<number, ObjectStore>,
    private readonly maxBytes: number,
  ) {}

  async load(clusterId: number, key: string): Promise<ReadonlyBitmap> {
    const id = `${clusterId}/${key}`;
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      hit.usedAt = performance.now();
      this.entries.set(id, hit);
      return hit.bitmap;
    }
    let p = this.loading.get(id);
    if (!p) {
      p = this.read(clusterId, key).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    const bitmap = await p;
    this.remember(id, bitmap, true);
    return bitmap;
  }

  /** Writes a new bitmap object (the key must be new) and keeps it cached. Returns its size in bytes. */
  async save(clusterId: number, key: string, bitmap: Bitmap): Promise<number> {
    const bytes = serialize(bitmap);
    await this.store(clusterId).put(key, bytes, { contentType: 'application/octet-stream' });
    bitmap.freeze?.();
    this.remember(`${clusterId}/${key}`, bitmap, false);
    return bytes.length;
  }

  private remember(id: string, bitmap: ReadonlyBitmap, read: boolean): void {
    if (this.entries.has(id)) return;
    const bytes = serializedSize(bitmap);
    if (bytes > this.maxBytes) return;
    const now = performance.now();
    if (read && this.bytes + bytes > this.maxBytes) {
      // The least recently used entries it would displace must all be idle.
      let free = this.maxBytes - this.bytes;
      for (const e of this.entries.values()) {
        if (free >= bytes || now - e.usedAt < PROTECT_MS) break;
        free += e.bytes;
      }
      if (free < bytes) return;
    }
    this.entries.set(id, { bitmap, bytes, usedAt: now });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  private store(clusterId: number): ObjectStore {
    const s = this.stores.get(clusterId);
    if (!s) throw new Error(`no object store for cluster ${clusterId}`);
    return s;
  }

  private async read(clusterId: number, key: string): Promise<ReadonlyBitmap> {
    const store = this.store(clusterId);
    if (store instanceof DiskStore) {
      // A disk object is a file: CRoaring maps it and deserializes it on a
      // libuv thread, with no stream chunks or concatenated copy. A COMBINE
      // of 500 inputs that are not cached reads ~1 GB of bitmaps; those
      // buffers added twice that in short-lived memory, and the garbage
      // collections it set off cost about as much as the union itself
      // (bench/combine.ts: 4.4x CRoaring's orMany, 1.6x without them and
      // with the eviction rule above). Any failure (a missing or damaged
      // object) goes the general way below, which raises the store's own
      // error or the format's.
      const bitmap = await deserializeFile(store.pathOf(key)).catch(() => undefined);
      if (bitmap) return bitmap;
    }
    const body: Readable = await store.get(key);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return deserialize(Buffer.concat(chunks));
  }
}

// Audience bitmaps in the object store, with a cache in front. A version's
// bitmap never changes once written (a new version is a new object key), so
// a cached copy is never stale and needs no invalidation, in this process or
// across processes; the cache only has to bound its memory.
import type { Readable } from 'node:stream';
import { deserialize, serialize, serializedSize, type Bitmap, type ReadonlyBitmap } from '../../infra/bitmaps/index.js';
import type { ObjectStore } from '../../infra/objects/types.js';

export class BitmapCache {
  /** Insertion order is recency order: a hit moves the entry to the end. */
  private readonly entries = new Map<string, { bitmap: ReadonlyBitmap; bytes: number }>();
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
      this.entries.set(id, hit);
      return hit.bitmap;
    }
    let p = this.loading.get(id);
    if (!p) {
      p = this.read(clusterId, key).finally(() => this.loading.delete(id));
      this.loading.set(id, p);
    }
    const bitmap = await p;
    this.remember(id, bitmap);
    return bitmap;
  }

  /** Writes a new bitmap object (the key must be new) and keeps it cached. Returns its size in bytes. */
  async save(clusterId: number, key: string, bitmap: Bitmap): Promise<number> {
    const bytes = serialize(bitmap);
    await this.store(clusterId).put(key, bytes, { contentType: 'application/octet-stream' });
    bitmap.freeze?.();
    this.remember(`${clusterId}/${key}`, bitmap);
    return bytes.length;
  }

  forget(clusterId: number, key: string): void {
    const id = `${clusterId}/${key}`;
    const e = this.entries.get(id);
    if (e) {
      this.bytes -= e.bytes;
      this.entries.delete(id);
    }
  }

  private remember(id: string, bitmap: ReadonlyBitmap): void {
    if (this.entries.has(id)) return;
    const bytes = serializedSize(bitmap);
    if (bytes > this.maxBytes) return;
    this.entries.set(id, { bitmap, bytes });
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
    const body: Readable = await this.store(clusterId).get(key);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    return deserialize(Buffer.concat(chunks));
  }
}

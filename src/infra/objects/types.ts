import type { Readable } from 'node:stream';

/** What a backend knows about a stored object. */
export interface ObjectInfo {
  size: number;
  /** Lower-case hex MD5 of the content when the backend knows it (disk always; S3 for single-part PUTs, from the ETag). */
  md5Hex?: string;
  etag?: string;
  lastModified: Date;
}

export interface PresignPutOptions {
  expiresSeconds: number;
  /** When given, the URL only accepts a body with this MD5 (signed Content-MD5). */
  contentMd5Hex?: string;
}

/**
 * One bucket of one backend. A data cluster owns exactly one of these; uploads
 * and every object built from them stay in it. Keys are relative,
 * slash-separated and already validated (see src/domain/uploads/keys.ts).
 */
export interface ObjectStore {
  readonly kind: 'disk' | 's3';
  readonly bucket: string;
  /** Writes an object produced by the service itself (exports, bitmaps), atomically. */
  put(key: string, body: Readable | Buffer, opts?: { contentType?: string }): Promise<ObjectInfo>;
  /** `chunkBytes`: how much a read asks for at a time, where the backend reads a file (ingest wants 16 MiB). */
  get(key: string, opts?: { chunkBytes?: number }): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * A URL a client can PUT the object to directly. The disk backend's URLs are
   * served by the service's own embedded store; the s3 backend's are the
   * store's own pre-signed URLs.
   */
  presignPut(key: string, opts: PresignPutOptions): Promise<string>;
  /** A time-limited URL to download the object. */
  presignGet(key: string, expiresSeconds: number): Promise<string>;
}

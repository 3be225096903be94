import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

import type { ObjectInfo, ObjectStore, PresignPutOptions } from './types.js';

export interface S3StoreOptions {
  /** e.g. http://127.0.0.1:7480; omitted for AWS itself (derived from the region). */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (http://host/bucket/key). Default true: what radosgw, MinIO and most self-hosted stores want. */
  forcePathStyle?: boolean;
  /**
   * The address clients reach the store by, when it differs from `endpoint`
   * (the service talks to it on an internal address). Pre-signed URLs are
   * signed for this host. Default: `endpoint`.
   */
  publicEndpoint?: string;
}

/** SigV4 pre-signed URLs live at most 7 days. */
const MAX_PRESIGN_SECONDS = 604_800;
/** A single PUT carries at most 5 GiB. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** Stream bodies up to this size are buffered in memory; larger ones are spooled to a temporary file. */
const MEMORY_LIMIT = 8 * 1024 * 1024;

const MD5_HEX = /^[0-9a-f]{32}$/i;

/** Lower-case hex MD5 from an ETag, when it is one (a single-part PUT); undefined for multipart (`…-N`) and others. */
export function md5HexFromEtag(etag: string | undefined): string | undefined {
  if (!etag) return undefined;
  const bare = etag.replace(/^W\//, '').replace(/^"|"$/g, '');
  return MD5_HEX.test(bare) ? bare.toLowerCase() : undefined;
}

/** Base64 of the 16 raw bytes, as the Content-MD5 header wants it. */
export function contentMd5FromHex(hex: string): string {
  if (!MD5_HEX.test(hex)) throw new TypeError(`not a 32-character hex MD5: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex').toString('base64');
}

function isNotFound(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === 'NotFound' ||
    e.name === 'NoSuchKey' ||
    e.Code === 'NoSuchKey' ||
    e.$metadata?.httpStatusCode === 404
  );
}

function checkExpiry(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`expiresSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}, got ${seconds}`);
  }
  return seconds;
}

/** A body ready for a single PutObject: its length and MD5 known up front. */
interface PreparedBody {
  body: Buffer | (() => Readable);
  size: number;
  md5: Buffer;
  cleanup(): Promise<void>;
}

/**
 * Reads a stream to learn its size and MD5 (a single PUT needs a
 * Content-Length, and a Content-MD5 makes the store check what it received):
 * small bodies stay in memory, larger ones go to a temporary file that is
 * then streamed from disk.
 */
async function prepareStream(src: Readable): Promise<PreparedBody> {
  const hash = createHash('md5');
  const chunks: Buffer[] = [];
  let size = 0;
  let dir: string | undefined;
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    for await (const chunk of src) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(buf);
      size += buf.length;
      if (size > MAX_SINGLE_PUT) {
        throw new RangeError(`object larger than ${MAX_SINGLE_PUT} bytes: a single S3 PUT cannot carry it`);
      }
      if (file) {
        await file.write(buf);
      } else if (size > MEMORY_LIMIT) {
        dir = await mkdtemp(join(tmpdir(), 'audiencehub-s3-'));
        file = await open(join(dir, 'body'), 'w');
        for (const c of chunks) await file.write(c);
        chunks.length = 0;
        await file.write(buf);
      } else {
        chunks.push(buf);
      }
    }
    const md5 = hash.digest();
    if (!file) {
      return { body: Buffer.concat(chunks, size), size, md5, cleanup: async () => {} };
    }
    await file.close();
    file = undefined;
    const path = join(dir!, 'body');
    const tmp = dir!;
    return { body: () => createReadStream(path), size, md5, cleanup: () => rm(tmp, { recursive: true, force: true }) };
  } catch (err) {
    await file?.close().catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/**
 * An ObjectStore over any S3-compatible store (AWS S3, Ceph radosgw, MinIO, …)
 * through the AWS SDK v3. Pre-signed URLs are the store's own SigV4 URLs.
 */
export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  /** Talks to the store. */
  readonly client: S3Client;
  /** Signs URLs for clients (same as `client` unless publicEndpoint differs). */
  private readonly signer: S3Client;
  private readonly region: string;

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket) throw new TypeError('bucket is required');
    if (!opts.region) throw new TypeError('region is required');
    this.bucket = opts.bucket;
    this.region = opts.region;
    const make = (endpoint: string | undefined) =>
      new S3Client({
        ...(endpoint ? { endpoint } : {}),
        region: opts.region,
        forcePathStyle: opts.forcePathStyle ?? true,
        credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
        // Since 3.729 the SDK adds CRC32 checksums by default: a pre-signed
        // PutObject would then carry the checksum of an empty body, and
        // stores other than AWS may not know the headers (aws-sdk-js-v3#6994).
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    this.client = make(opts.endpoint);
    this.signer =
      opts.publicEndpoint && opts.publicEndpoint !== opts.endpoint ? make(opts.publicEndpoint) : this.client;
  }

  /** Creates the bucket when it does not exist yet. Safe to call any number of times, also concurrently. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const create = async (withLocation: boolean) => {
      const command = new CreateBucketCommand({
        Bucket: this.bucket,
        ...(withLocation
          ? { CreateBucketConfiguration: { LocationConstraint: this.region as BucketLocationConstraint } }
          : {}),
      });
      if (!withLocation) {
        // the SDK names the client's region as the location itself unless it
        // is us-east-1; this runs after that and takes it out again
        command.middlewareStack.add(
          (next) => async (args) => {
            delete (args.input as { CreateBucketConfiguration?: unknown }).CreateBucketConfiguration;
            return next(args);
          },
          { step: 'initialize', priority: 'low', name: 'audiencehubNoLocationConstraint' },
        );
      }
      try {
        await this.client.send(command);
      } catch (err) {
        // lost a race against ourselves: fine
        if ((err as { name?: string }).name === 'BucketAlreadyOwnedByYou') return;
        throw err;
      }
    };
    // us-east-1 is the one AWS region that must not be named
    if (this.region === 'us-east-1') return create(false);
    try {
      await create(true);
    } catch (err) {
      // radosgw (and others) only know their own zonegroup names ("default")
      // as location constraints but sign with any region: create the bucket
      // in the store's default place. On AWS the retry fails as well.
      if ((err as { name?: string }).name !== 'InvalidLocationConstraint') throw err;
      try {
        await create(false);
      } catch {
        throw err;
      }
    }
  }

  async put(key: string, body: Readable | Buffer, opts?: { contentType?: string }): Promise<ObjectInfo> {
    let prepared: PreparedBody;
    if (Buffer.isBuffer(body)) {
      if (body.length > MAX_SINGLE_PUT) {
        throw new RangeError(`object larger than ${MAX_SINGLE_PUT} bytes: a single S3 PUT cannot carry it`);
      }
      prepared = { body, size: body.length, md5: createHash('md5').update(body).digest(), cleanup: async () => {} };
    } else {
      prepared = await prepareStream(body);
    }
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: Buffer.isBuffer(prepared.body) ? prepared.body : prepared.body(),
          ContentLength: prepared.size,
          // the store refuses the PUT (BadDigest) if what arrives differs
          ContentMD5: prepared.md5.toString('base64'),
          ...(opts?.contentType ? { ContentType: opts.contentType } : {}),
        }),
      );
      const md5Hex = prepared.md5.toString('hex');
      const info = await this.head(key);
      if (info && info.etag === res.ETag) return { ...info, md5Hex };
      // overwritten meanwhile, or a store that lags: report what we wrote
      return { size: prepared.size, md5Hex, ...(res.ETag ? { etag: res.ETag } : {}), lastModified: new Date() };
    } finally {
      await prepared.cleanup();
    }
  }

  async get(key: string): Promise<Readable> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const body = res.Body;
    if (body instanceof Readable) return body;
    if (body && typeof (body as { transformToWebStream?: unknown }).transformToWebStream === 'function') {
      const web = (body as { transformToWebStream(): ReadableStream }).transformToWebStream();
      return Readable.fromWeb(web as import('node:stream/web').ReadableStream);
    }
    throw new Error(`GetObject ${this.bucket}/${key} returned no body`);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const md5Hex = md5HexFromEtag(res.ETag);
      return {
        size: res.ContentLength ?? 0,
        ...(md5Hex ? { md5Hex } : {}),
        ...(res.ETag ? { etag: res.ETag } : {}),
        lastModified: res.LastModified ?? new Date(0),
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      // S3 itself answers 204 for a missing key; some stores say 404
      if ((err as { name?: string }).name === 'NoSuchKey' || (err as { name?: string }).name === 'NotFound') return;
      throw err;
    }
  }

  async presignPut(key: string, opts: PresignPutOptions): Promise<string> {
    const expiresIn = checkExpiry(opts.expiresSeconds);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ...(opts.contentMd5Hex !== undefined ? { ContentMD5: contentMd5FromHex(opts.contentMd5Hex) } : {}),
    });
    // Content-MD5 is not an x-amz-* header, so the presigner keeps it as a
    // signed header (X-Amz-SignedHeaders=content-md5;host): the client must
    // send that exact header, and the store checks the body against it.
    return getSignedUrl(this.signer, command, {
      expiresIn,
      ...(opts.contentMd5Hex !== undefined ? { signableHeaders: new Set(['content-md5']) } : {}),
    });
  }

  async presignGet(key: string, expiresSeconds: number): Promise<string> {
    const expiresIn = checkExpiry(expiresSeconds);
    return getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn });
  }
}


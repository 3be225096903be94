// OSS multipart upload on the embedded store: initiate, upload part,
// complete, abort. Parts are files beside the store's temporary files; the
// completed object goes through the same streaming check and atomic publish
// as a single PUT, so a multipart upload is accepted or refused whole.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../../config.js';
import type { Db } from '../../infra/db/index.js';
import type { UploadService } from './service.js';
import type { Upload } from './types.js';
import { err } from '../../errors.js';
import { randomToken } from '../../infra/crypto/ids.js';

const MIN_PART = 100 * 1024; // OSS: every part but the last is at least 100 KB.
const MAX_PARTS = 10_000;

/** What multipart uploads need of the running service (the App has all of it). */
export interface MultipartDeps {
  db: Db;
  uploads: UploadService;
  config: Config;
  now: () => number;
}

/** Parts live beside the store's temporary files, on the same file system. */
export const partsRootOf = (dataDir: string) => join(dataDir, 'objects', '.parts');

export class Multipart {
  private readonly partsRoot: string;

  constructor(private readonly app: MultipartDeps) {
    this.partsRoot = partsRootOf(app.config.dataDir);
  }

  private dir(id: string): string {
    return join(this.partsRoot, id);
  }

  async initiate(u: Upload): Promise<string> {
    await this.app.uploads.assertWritable(u);
    const id = randomToken(32, '0123456789ABCDEF');
    await this.app.db.insertInto('multipart_uploads').values({ id, upload_id: u.id, created_at: this.app.now() }).execute();
    await mkdir(this.dir(id), { recursive: true });
    return id;
  }

  private async session(u: Upload, id: string | null): Promise<string> {
    if (!id) throw err('InvalidParameter', 'uploadId is required', 'uploadId');
    const row = await this.app.db.selectFrom('multipart_uploads').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.upload_id !== u.id) throw err('NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.');
    return id;
  }

  async uploadPart(u: Upload, id: string | null, partNumberRaw: string | null, body: Readable, length: number | undefined, beforeRead = () => {}): Promise<string> {
    await this.app.uploads.assertWritable(u);
    const mp = await this.session(u, id);
    const n = Number(partNumberRaw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS) throw err('InvalidParameter', `partNumber must be an integer from 1 to ${MAX_PARTS}`, 'partNumber');
    if (length !== undefined && length > this.app.config.uploads.maxBytes) throw err('TooLarge', 'the part is larger than the largest file allowed');
    const md5 = createHash('md5');
    let size = 0;
    const path = join(this.dir(mp), String(n));
    beforeRead();
    await pipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          size += c.length;
          md5.update(c);
          yield c;
        }
      },
      createWriteStream(path),
    );
    if (length !== undefined && size !== length) throw err('IncompleteBody', `the part ended after ${size} of ${length} bytes`);
    const hex = md5.digest('hex');
    await this.app.db
      .insertInto('multipart_parts')
      .values({ multipart_id: mp, part_number: n, md5: hex, size, created_at: this.app.now() })
      .onConflict((oc) => oc.columns(['multipart_id', 'part_number']).doUpdateSet({ md5: hex, size }))
      .execute();
    return hex;
  }

  /** Parses the CompleteMultipartUpload document: a list of (PartNumber, ETag). */
  static parseComplete(xml: string): Array<{ n: number; etag: string }> {
    const parts: Array<{ n: number; etag: string }> = [];
    for (const m of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
      const n = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]);
      const e = /<ETag>\s*(?:&quot;|")?([0-9A-Fa-f]{32})(?:&quot;|")?\s*<\/ETag>/.exec(m[1]);
      if (!n || !e) throw err('InvalidPart', 'each Part needs a PartNumber and an ETag');
      parts.push({ n: Number(n[1]), etag: e[1].toLowerCase() });
    }
    if (!parts.length) throw err('InvalidPart', 'the part list is empty');
    return parts;
  }

  async complete(u: Upload, id: string | null, xml: string): Promise<Upload> {
    await this.app.uploads.assertWritable(u);
    const mp = await this.session(u, id);
    const listed = Multipart.parseComplete(xml);
    const stored = await this.app.db.selectFrom('multipart_parts').selectAll().where('multipart_id', '=', mp).execute();
    const byNumber = new Map(stored.map((p) => [Number(p.part_number), p]));
    let total = 0;
    listed.forEach((p, i) => {
      if (i > 0 && p.n <= listed[i - 1].n) throw err('InvalidPart', 'parts must be listed in ascending order of PartNumber');
      const s = byNumber.get(p.n);
      if (!s || s.md5 !== p.etag) throw err('InvalidPart', `part ${p.n} was not uploaded or its ETag does not match`);
      if (i < listed.length - 1 && Number(s.size) < MIN_PART) throw err('TooSmall', `part ${p.n} is smaller than 100 KB and is not the last part`);
      total += Number(s.size);
    });
    const dir = this.dir(mp);
    const joined = new PassThrough({ highWaterMark: 1 << 20 });
    (async () => {
      for (const p of listed) await pipeline(createReadStream(join(dir, String(p.n)), { highWaterMark: 1 << 20 }), joined, { end: false });
      joined.end();
    })().catch((e) => joined.destroy(e));
    try {
      return await this.app.uploads.receive(u, joined, { expectedBytes: total });
    } finally {
      await this.abort(u, mp);
    }
  }

  async abort(u: Upload, id: string | null): Promise<void> {
    await this.drop(await this.session(u, id));
  }

  private async drop(mp: string): Promise<void> {
    await this.app.db.deleteFrom('multipart_parts').where('multipart_id', '=', mp).execute();
    await this.app.db.deleteFrom('multipart_uploads').where('id', '=', mp).execute();
    await rm(this.dir(mp), { recursive: true, force: true });
  }

  /**
   * Multipart uploads nobody completed or aborted: once their upload can no
   * longer be written (credential expired a day ago, file accepted, deleted),
   * their parts are removed. Returns how many were.
   */
  async sweepAbandoned(): Promise<number> {
    const dayAgo = this.app.now() - 86_400_000;
    const rows = await this.app.db
      .selectFrom('multipart_uploads')
      .innerJoin('uploads', 'uploads.id', 'multipart_uploads.upload_id')
      .select('multipart_uploads.id as id')
      .where((eb) => eb.or([eb('uploads.write_open', '=', 0), eb('uploads.expires_at', '<', dayAgo)]))
      .limit(500)
      .execute();
    for (const r of rows) await this.drop(r.id);
    return rows.length;
  }
}

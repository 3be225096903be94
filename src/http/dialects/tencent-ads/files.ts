// Tencent Marketing API customer files (the neighbours of seed 001):
//   POST /v1.3/custom_audience_files/add, GET /v1.3/custom_audience_files/get.
// A file added to a CUSTOMER_FILE audience is one change of the audience
// (APPEND → append, REDUCE → remove); the ads_audience_files row that gives
// it its custom_audience_file_id commits in the change's transaction.
//
// How the file travels:
// - `file`, a part of a multipart/form-data request: txt or csv with one id
//   per line (a csv is read as lines, as the vendor describes it: "每行一个
//   号码"), or a zip of such files, at most 100 MiB as received. It is
//   streamed into a staging object of the audience's cluster, never held in
//   memory. A zip needs random access, so it is spooled to a local temporary
//   file first and its txt/csv entries are joined into one staged object.
// - `data_path` (oss://bucket/key or s3://bucket/key) or `resource_url` (an
//   upload's ResourceUrl), in the form or in a JSON body: a READY upload of
//   the account, read by the change itself. This is ours, not the vendor's:
//   a multi-GB file is uploaded once through a pre-signed URL instead of
//   passing through a form.
//
// A refused request keeps nothing. When the form's fields come before its
// file (as the vendor's curl example sends them), they are checked when the
// file begins, so a refusal is answered without reading the file; fields that
// come after it are checked at the end, and what was received is deleted.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import yauzl from 'yauzl';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Selectable } from 'kysely';
import type { App } from '../../../app.js';
import type { StagedFile } from '../../../domain/audiences/service.js';
import type { Audience, Change, ChangeStatus, FileReport } from '../../../domain/audiences/types.js';
import { fromTencent } from '../../../domain/identities/vendor-maps.js';
import { err, isAppError } from '../../../errors.js';
import type { Db } from '../../../infra/db/index.js';
import type { AdsAudienceFilesTable, AudienceChangesTable } from '../../../infra/db/schema.js';
import { uploadOfUri } from '../upload-uri.js';
import { validate, vendorTime, type Cond, type Node } from './audience-rules.js';
import { checkAccount } from './auth.js';
import { adsOk } from './errors.js';
import { queryParams } from './query.js';

/** "压缩后的 zip 包不超过 100M", read as 100 MiB of whatever is sent (zip or not). */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;
/** What the txt and csv entries of a zip may expand to, together. */
export const MAX_UNZIPPED_BYTES = 5 * 1024 ** 3;
/** A text field of the form (data_path is the longest, 2048 bytes). */
const FIELD_BYTES = 16 * 1024;
const INT32_MAX = 2_147_483_647;

/**
 * The user_id_type enum: the add page's list, the types the vendor's other
 * pages and SDKs also name (HASH_MAC … GDT_OPENID), and MOBILE_QQ_OPENID, which
 * its open_app_id description refers to. Each is accepted by the rules; only
 * those our id registry reads (SERVED) are taken.
 */
export const USER_ID_TYPES = [
  'HASH_IDFA', 'HASH_IMEI', 'HASH_MOBILE_PHONE', 'IDFA', 'IMEI', 'WX_OPENID', 'WX_UNIONID', 'WECHAT_OPENID', 'SALTED_HASH_IMEI', 'SALTED_HASH_IDFA',
  'OAID', 'HASH_OAID', 'SHA256_MOBILE_PHONE', 'MD5_SHA256_IMEI', 'MD5_SHA256_IDFA', 'MD5_SHA256_OAID', 'CAID',
  'HASH_MAC', 'MAC', 'QQ', 'HASH_QQ', 'GDT_OPENID', 'MOBILE_QQ_OPENID',
] as const;
export type UserIdType = (typeof USER_ID_TYPES)[number];

export const SERVED: readonly UserIdType[] = USER_ID_TYPES.filter((t) => fromTencent(t) !== undefined);

/**
 * Ids scoped to one app: "open_app_id … 当且仅当数据文件中的用户 id 类型为
 * 'WECHAT_OPENID'(WX_OPENID)或 'MOBILE_QQ_OPENID' 时有效". The app is required
 * with them (an openid means nothing without it) and refused with any other.
 * It is kept with the file and shown by get; ids are matched without it, as
 * an openid is already one app's own (two apps never share one).
 */
export const APP_SCOPED: readonly UserIdType[] = ['WECHAT_OPENID', 'WX_OPENID', 'MOBILE_QQ_OPENID'];

const absent = (path: string): Cond => ({ path, in: [undefined] });
const appScoped: Cond = { path: 'user_id_type', in: APP_SCOPED };

/** custom_audience_files/add. `file` stands for the file part (its name) once the form has one. */
export const ADD_FILE_REQUEST: Node = {
  t: 'struct',
  atMostOne: [['file', 'data_path', 'resource_url']],
  fields: {
    account_id: { t: 'int', min: 1, required: true },
    audience_id: { t: 'int', min: 1, required: true },
    user_id_type: { t: 'enum', values: USER_ID_TYPES, required: true },
    operation_type: { t: 'enum', values: ['APPEND', 'REDUCE'] },
    open_app_id: { t: 'string', minBytes: 1, maxBytes: 128, requiredWhen: [appScoped], onlyWhen: appScoped },
    file: { t: 'string', requiredWhen: [absent('data_path'), absent('resource_url')] },
    data_path: { t: 'string', maxBytes: 2048, pattern: /^(oss|s3):\/\/[^/?#]+\/.+$/s, patternText: 'oss://bucket/key or s3://bucket/key of an upload' },
    resource_url: { t: 'string', maxBytes: 2048, pattern: /^https?:\/\/\S+$/i, patternText: 'the ResourceUrl of an upload (http:// or https://)' },
  },
};

interface AddFileRequest {
  account_id: number;
  audience_id: number;
  user_id_type: UserIdType;
  operation_type?: 'APPEND' | 'REDUCE';
  open_app_id?: string;
  file?: string;
  data_path?: string;
  resource_url?: string;
}

/** What custom_audience_files/get answers for a file, in the vendor's order (and what `fields` may ask for). */
export const FILE_FIELDS = [
  'audience_id', 'custom_audience_file_id', 'name', 'user_id_type', 'operation_type', 'open_app_id', 'process_status', 'process_code',
  'error_message', 'line_count', 'valid_line_count', 'user_count', 'size', 'created_time',
] as const;

export const GET_FILES_QUERY: Node = {
  t: 'struct',
  fields: {
    account_id: { t: 'int', min: 1, required: true },
    audience_id: { t: 'int', min: 1 },
    custom_audience_file_id: { t: 'int', min: 1 },
    page: { t: 'int', min: 1, max: INT32_MAX },
    page_size: { t: 'int', min: 1, max: 100 },
    fields: { t: 'array', min: 1, max: FILE_FIELDS.length, of: { t: 'enum', values: FILE_FIELDS } },
  },
};

interface GetFilesQuery {
  account_id: number;
  audience_id?: number;
  custom_audience_file_id?: number;
  page?: number;
  page_size?: number;
  fields?: Array<(typeof FILE_FIELDS)[number]>;
}

/** The change's status is the file's: the vendor's FROZEN, THAWING and LOCKING never arise here. */
const PROCESS_STATUS: Record<ChangeStatus, string> = { PENDING: 'PENDING', PROCESSING: 'PROCESSING', SUCCESS: 'SUCCESS', ERROR: 'ERROR' };

/**
 * process_code, "处理完成后的状态码，0 表示成功，非 0 失败": a code for a file
 * that has finished, so 0 until it has, and 0 when it built. A failure is
 * numbered by its cause (docs/dialects.md has the table).
 */
export const PROCESS_CODES = { ok: 0, noValidId: 1, unreadable: 2, fileGone: 3, internal: 9 } as const;

function processCode(status: ChangeStatus, errorCode: string | null): number {
  if (status !== 'ERROR') return PROCESS_CODES.ok;
  switch (errorCode) {
    case 'InvalidParameter':
      return PROCESS_CODES.noValidId;
    case 'GzipCorrupt':
    case 'GzipBomb':
    case 'NotAudienceFile':
      return PROCESS_CODES.unreadable;
    case 'UploadNotReady':
    case 'UploadNotFound':
      return PROCESS_CODES.fileGone;
    default:
      return PROCESS_CODES.internal;
  }
}

// ---------------------------------------------------------------------------
// Bytes: what a file is, judged by its first bytes rather than its name (SDKs
// send whatever name the local file has).

const isZip = (b: Buffer) => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && ((b[2] === 3 && b[3] === 4) || (b[2] === 5 && b[3] === 6) || (b[2] === 7 && b[3] === 8));
const isGzip = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
const NEWLINE = Buffer.from('\n');

/** The first `n` bytes of a stream (all of it when shorter), and the chunks after them. */
async function peek(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    got.push(r.value);
    length += r.value.length;
  }
  const rest = async function* () {
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  };
  return { head: Buffer.concat(got), rest: rest() };
}

async function* chain(head: Buffer, rest: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  yield* rest;
}

/** The file part's bytes, counted; past MAX_FILE_BYTES reading stops with the refusal. */
async function* limited(source: AsyncIterable<Buffer>, count: { bytes: number }): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    count.bytes += chunk.length;
    if (count.bytes > MAX_FILE_BYTES) {
      throw err('TooLarge', `file is larger than ${MAX_FILE_BYTES} bytes (100 MiB), the most one call takes; upload a larger file through a pre-signed URL and name it by data_path`, 'file');
    }
    yield chunk;
  }
}

// ---------------------------------------------------------------------------
// Zips.

const unreadable = (what: string, e: unknown) => err('NotAudienceFile', `${what} cannot be read: ${(e as Error).message}`, 'file');
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 === 0 ? 0 : 2)} GiB`;

/**
 * The entries whose lines make the file, in the zip's order, all checked
 * before any is read: directories and macOS metadata (__MACOSX/, .DS_Store)
 * are skipped; anything but a plain txt or csv file is refused by name.
 */
async function zipEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const out: yauzl.Entry[] = [];
  let total = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      const name = entry.fileName;
      const base = name.slice(name.lastIndexOf('/') + 1);
      if (name.endsWith('/') || name.startsWith('__MACOSX/') || base === '.DS_Store') continue;
      const ext = /\.([^.]+)$/.exec(base)?.[1]?.toLowerCase();
      if (ext === 'zip') throw err('NotAudienceFile', `entry "${name}" of the zip is itself a zip; put its txt or csv files in the outer zip instead`, 'file');
      if (ext !== 'txt' && ext !== 'csv') throw err('NotAudienceFile', `entry "${name}" of the zip is not a txt or csv file; a zip may hold only txt and csv files of ids, one per line`, 'file');
      if (entry.isEncrypted()) throw err('NotAudienceFile', `entry "${name}" of the zip is encrypted; send the zip without a password`, 'file');
      if (!entry.canDecodeFileData()) throw err('NotAudienceFile', `entry "${name}" of the zip uses compression method ${entry.compressionMethod}, which cannot be read here; use deflate (what every zip tool makes by default)`, 'file');
      total += entry.uncompressedSize;
      if (total > MAX_UNZIPPED_BYTES) {
        throw err('TooLarge', `the zip's txt and csv files expand to more than ${gib(MAX_UNZIPPED_BYTES)} (${total} bytes with entry "${name}"); upload such a file through a pre-signed URL and name it by data_path`, 'file');
      }
      out.push(entry);
    }
  } catch (e) {
    throw isAppError(e) ? e : unreadable('the zip', e);
  }
  if (out.length === 0) throw err('NotAudienceFile', 'the zip holds no txt or csv file', 'file');
  return out;
}

/**
 * The entries' bytes one after the other: a line break goes between two
 * entries when the first does not end with one (so the last line of one and
 * the first of the next never merge), and each entry's UTF-8 BOM is dropped.
 */
async function* entryBytes(zip: yauzl.ZipFile, entries: yauzl.Entry[]): AsyncGenerator<Buffer> {
  let endsLine = true;
  for (const entry of entries) {
    const name = entry.fileName;
    try {
      const { head, rest } = await peek(await zip.openReadStreamPromise(entry), 4);
      // A name says txt; the bytes may still say otherwise.
      if (isZip(head)) throw err('NotAudienceFile', `entry "${name}" of the zip is itself a zip; put its txt or csv files in the outer zip instead`, 'file');
      if (isGzip(head)) throw err('NotAudienceFile', `entry "${name}" of the zip is gzip-compressed; the entries of a zip must be plain txt or csv`, 'file');
      let started = false;
      for await (const chunk of chain(hasBom(head) ? head.subarray(3) : head, rest)) {
        if (chunk.length === 0) continue;
        if (!started) {
          started = true;
          if (!endsLine) yield NEWLINE;
        }
        endsLine = chunk[chunk.length - 1] === 0x0a;
        yield chunk;
      }
    } catch (e) {
      throw isAppError(e) ? e : unreadable(`entry "${name}" of the zip`, e);
    }
  }
}

// ---------------------------------------------------------------------------
// The form.

/** A file part as received, until a change takes it. */
interface HeldFile {
  /** The client's file name ('' when it gave none). */
  name: string;
  /** Bytes received. */
  bytes: number;
  /** Streamed straight into a staging object (a text file whose audience was known when it began). */
  staged?: Omit<StagedFile, 'idType'>;
  /** Spooled to a local temporary file: a zip, or a file that came before the fields naming its audience. */
  spool?: { dir: string; path: string; zip: boolean };
}

interface Form {
  fields: Record<string, string>;
  file?: HeldFile;
}

async function release(app: App, held: HeldFile | undefined): Promise<void> {
  if (held?.staged) await app.audiences.discardStaged(held.staged, 'staged file of a refused custom_audience_files/add').catch(() => undefined);
  if (held?.spool) await rm(held.spool.dir, { recursive: true, force: true }).catch(() => undefined);
}

async function spool(source: AsyncIterable<Buffer>): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'audiencehub-ads-file-'));
  const path = join(dir, 'file');
  try {
    await pipeline(Readable.from(source), createWriteStream(path));
    return { dir, path };
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads a multipart form: text fields as they come, the one file part through
 * `onFile` (given the fields received before it). On a refusal the request is
 * no longer read, and whatever `onFile` kept is deleted.
 */
function readForm(app: App, req: FastifyRequest, onFile: (fields: Record<string, string>, name: string, body: Readable) => Promise<HeldFile>): Promise<Form> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      // File names arrive as UTF-8 (客户名单.txt), not busboy's default latin1.
      bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fields: 32, fieldSize: FIELD_BYTES, files: 1, parts: 40 }, highWaterMark: 1 << 20 });
    } catch (e) {
      reject(err('InvalidRequest', `the form cannot be read: ${(e as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let receiving: Promise<HeldFile> | undefined;
    let part: Readable | undefined;
    let settled = false;
    const settle = async (refusal?: unknown) => {
      if (settled) return;
      settled = true;
      req.raw.unpipe(bb);
      // A file still arriving is abandoned: its reader fails and deletes what it wrote.
      if (refusal !== undefined && part && !part.readableEnded) part.destroy();
      let held: HeldFile | undefined;
      let failure = refusal;
      try {
        held = await receiving;
      } catch (e) {
        failure ??= e;
      }
      if (failure === undefined) return resolve({ fields, ...(held ? { file: held } : {}) });
      await release(app, held);
      reject(failure);
    };
    const refuse = (e: unknown) => void settle(e);
    bb.on('field', (name, value, info) => {
      if (settled) return;
      if (info.nameTruncated || info.valueTruncated) return refuse(err('InvalidParameter', `${name} is longer than the ${FIELD_BYTES} bytes a field of the form may hold`, name));
      if (name === 'file') return refuse(err('InvalidParameter', 'file must be a file part of the form (what curl -F "file=@path" sends), not a text field', 'file'));
      if (Object.hasOwn(fields, name)) return refuse(err('InvalidParameter', `${name} is given twice`, name));
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (settled) return void stream.resume();
      if (name !== 'file') {
        stream.resume();
        return refuse(err('InvalidParameter', `${name} is not a field of the request; the file goes in the part named file`, name));
      }
      part = stream;
      receiving = onFile({ ...fields }, info.filename ?? '', stream);
      receiving.catch(refuse);
    });
    bb.on('filesLimit', () => refuse(err('InvalidParameter', 'the form holds more than one file; add one file per call', 'file')));
    bb.on('fieldsLimit', () => refuse(err('InvalidRequest', 'the form holds more fields than this call has')));
    bb.on('partsLimit', () => refuse(err('InvalidRequest', 'the form holds more parts than this call has')));
    bb.on('error', (e) => refuse(err('InvalidRequest', `the form cannot be read: ${(e as Error).message}`)));
    bb.on('close', () => void settle());
    req.raw.on('close', () => {
      if (!req.raw.complete) refuse(err('IncompleteBody', 'the connection closed before the form was complete'));
    });
    req.raw.pipe(bb);
  });
}

const isMultipart = (req: FastifyRequest) => /^multipart\/form-data\b/i.test(req.headers['content-type'] ?? '');

/** A JSON body names its file by data_path or resource_url; a null field is an absent one. */
function jsonFields(body: unknown): unknown {
  if (body === undefined || body === null) {
    throw err('InvalidRequest', 'send the request as multipart/form-data (with the file part) or as a JSON object naming the file by data_path or resource_url');
  }
  if (typeof body !== 'object' || Array.isArray(body)) return body;
  if ('file' in body) throw err('InvalidParameter', 'file must be a file part of a multipart/form-data request; a JSON body names its file by data_path or resource_url', 'file');
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
}

/** `fields` in a query string: a JSON list, a repeated parameter (the SDKs' "multi") or names joined by commas. */
function fieldsParam(v: unknown): unknown {
  if (Array.isArray(v)) return v;
  if (typeof v !== 'string') return v;
  if (v.trimStart().startsWith('[')) {
    try {
      return JSON.parse(v);
    } catch {
      throw err('InvalidParameter', `fields must be a JSON list of field names, got ${JSON.stringify(v.slice(0, 100))}`, 'fields');
    }
  }
  return v.split(',').map((s) => s.trim());
}

// ---------------------------------------------------------------------------
// The routes.

/** A file row with the status, error and report of its change. */
type FileRow = Selectable<AdsAudienceFilesTable> & Pick<Selectable<AudienceChangesTable>, 'status' | 'error_code' | 'error_message' | 'reports'>;

function present(r: FileRow): Record<(typeof FILE_FIELDS)[number], unknown> {
  const status = r.status as ChangeStatus;
  // One file per change: its report is the first, once the change has read it.
  const report = r.reports ? ((JSON.parse(r.reports) as FileReport[])[0]?.report ?? null) : null;
  return {
    audience_id: Number(r.audience_id),
    custom_audience_file_id: Number(r.id),
    name: r.file_name,
    user_id_type: r.user_id_type,
    operation_type: r.operation_type,
    open_app_id: r.open_app_id ?? '',
    process_status: PROCESS_STATUS[status] ?? status,
    process_code: processCode(status, r.error_code),
    error_message: status === 'ERROR' ? (r.error_message ?? '') : '',
    line_count: report?.lines ?? 0,
    valid_line_count: report?.validLines ?? 0,
    user_count: report?.userCount ?? 0,
    size: Number(r.size),
    created_time: vendorTime(new Date(Number(r.created_at)).toISOString()),
  };
}

export const adsAudienceFiles: FastifyPluginAsync = async (f) => {
  const app = f.app;
  // The form is read by the route, as it arrives: the body parser leaves the stream alone.
  f.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));

  /** What the request names must exist and be the account's: the audience a CUSTOMER_FILE one, the type one we read. */
  const target = async (req: FastifyRequest, r: AddFileRequest): Promise<{ accountId: string; audience: Audience }> => {
    const accountId = checkAccount(req, r.account_id);
    if (!SERVED.includes(r.user_id_type)) {
      throw err('NotAvailable', `user_id_type ${r.user_id_type} is not available on this deployment (no id rule reads it); served: ${SERVED.join(', ')}`, 'user_id_type');
    }
    const audience = await app.audiences.get(accountId, r.audience_id);
    if (audience.type !== 'CUSTOMER_FILE') {
      throw err('InvalidParameter', `audience ${audience.id} is a ${audience.type} audience; files are added only to CUSTOMER_FILE audiences`, 'audience_id');
    }
    return { accountId, audience };
  };

  /**
   * The file part begins. With every field it needs already received, the
   * request is checked now (a refusal reads none of the file) and a text file
   * goes straight into a staging object of the audience's cluster.
   */
  const onFile = async (req: FastifyRequest, fields: Record<string, string>, name: string, body: Readable): Promise<HeldFile> => {
    let audience: Audience | undefined;
    try {
      audience = (await target(req, validate<AddFileRequest>(ADD_FILE_REQUEST, { ...fields, file: name }, app.now()))).audience;
    } catch (e) {
      // A field missing so far may still come after the file.
      if (!isAppError(e) || e.code !== 'MissingParameter') throw e;
    }
    const count = { bytes: 0 };
    const { head, rest } = await peek(limited(body, count), 4);
    if (head.length === 0) return { name, bytes: 0 };
    const bytes = chain(head, rest);
    const zip = isZip(head);
    if (audience && !zip) {
      const staged = await app.audiences.stage(req.accountId!, audience.clusterId, Readable.from(bytes), { name });
      return { name, bytes: count.bytes, staged };
    }
    const spooled = await spool(bytes);
    return { name, bytes: count.bytes, spool: { ...spooled, zip } };
  };

  /** The held file as one staging object of the audience's cluster. */
  const stagedOf = async (held: HeldFile, accountId: string, audience: Audience): Promise<Omit<StagedFile, 'idType'>> => {
    if (held.bytes === 0) throw err('InvalidParameter', 'file is empty', 'file');
    if (held.staged) return held.staged;
    const { path, zip } = held.spool!;
    if (!zip) return app.audiences.stage(accountId, audience.clusterId, createReadStream(path), { name: held.name });
    let archive: yauzl.ZipFile;
    try {
      archive = await yauzl.openPromise(path, { autoClose: false });
    } catch (e) {
      throw unreadable('file starts as a zip does but', e);
    }
    try {
      const entries = await zipEntries(archive);
      return await app.audiences.stage(accountId, audience.clusterId, Readable.from(entryBytes(archive, entries)), { name: held.name });
    } finally {
      archive.close();
    }
  };

  const add = async (req: FastifyRequest): Promise<number> => {
    const form: Form = isMultipart(req)
      ? await readForm(app, req, (fields, name, body) => onFile(req, fields, name, body))
      : { fields: jsonFields(req.body) as Record<string, string> };
    let held = form.file;
    try {
      const raw = held ? { ...form.fields, file: held.name } : form.fields;
      const r = validate<AddFileRequest>(ADD_FILE_REQUEST, raw, app.now());
      const { accountId, audience } = await target(req, r);
      const idType = fromTencent(r.user_id_type)!;
      const operation = r.operation_type === 'REDUCE' ? 'remove' : 'append';
      let fileId = 0;
      const record = (fileName: string, size: number) => async (tx: Db, change: Change) => {
        const row = await tx
          .insertInto('ads_audience_files')
          .values({
            audience_id: audience.id,
            account_id: accountId,
            change_id: change.id,
            user_id_type: r.user_id_type,
            operation_type: r.operation_type ?? 'APPEND',
            open_app_id: r.open_app_id ?? null,
            file_name: fileName,
            size,
            created_at: app.now(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        fileId = Number(row.id);
      };
      if (held) {
        const staged = await stagedOf(held, accountId, audience);
        const { name, bytes } = held;
        // From here the change owns the staged object, whatever becomes of it.
        held = held.spool ? { name, bytes, spool: held.spool } : undefined;
        await app.audiences.change(accountId, audience.id, { operation, staged: [{ ...staged, idType }] }, { within: record(name, bytes) });
      } else {
        const field = r.data_path !== undefined ? 'data_path' : 'resource_url';
        const uri = (r.data_path ?? r.resource_url)!;
        const up = await uploadOfUri(app, accountId, uri, field);
        if (up.clusterId !== audience.clusterId) {
          throw err('InvalidParameter', `the upload at ${uri} is in data cluster ${up.clusterId}, audience ${audience.id} in ${audience.clusterId}; an audience reads files of its own cluster only`, field);
        }
        await app.audiences.change(accountId, audience.id, { operation, files: [{ uploadId: up.id, idType }] }, { within: record(uri, up.size ?? 0) });
      }
      return fileId;
    } finally {
      // A refused request keeps nothing; a spooled copy is never kept.
      await release(app, held);
    }
  };

  f.post('/custom_audience_files/add', async (req, reply) => {
    try {
      return adsOk({ custom_audience_file_id: await add(req) });
    } catch (e) {
      // The rest of a refused file may still be arriving: close the connection rather than read it.
      if (!req.raw.complete) reply.header('connection', 'close');
      throw e;
    }
  });

  f.get('/custom_audience_files/get', async (req) => {
    const raw = queryParams(req.query, []);
    if (Object.hasOwn(raw, 'fields')) raw.fields = fieldsParam(raw.fields);
    const q = validate<GetFilesQuery>(GET_FILES_QUERY, raw, app.now());
    const accountId = checkAccount(req, q.account_id);
    // Another account's audience reads as missing, as in custom_audiences/get.
    if (q.audience_id !== undefined) await app.audiences.get(accountId, q.audience_id);
    const page = q.page ?? 1;
    const pageSize = q.page_size ?? 10;
    let base = app.db
      .selectFrom('ads_audience_files as f')
      .innerJoin('audiences as a', 'a.id', 'f.audience_id')
      .innerJoin('audience_changes as c', 'c.id', 'f.change_id')
      .where('f.account_id', '=', accountId)
      .where('a.account_id', '=', accountId);
    if (q.audience_id !== undefined) base = base.where('f.audience_id', '=', q.audience_id);
    if (q.custom_audience_file_id !== undefined) base = base.where('f.id', '=', q.custom_audience_file_id);
    const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    if (q.custom_audience_file_id !== undefined && total === 0) {
      const where = q.audience_id !== undefined ? `audience ${q.audience_id}` : 'this account';
      throw err('NotFound', `custom_audience_file_id ${q.custom_audience_file_id} does not exist in ${where}`, 'custom_audience_file_id');
    }
    const rows = await base
      .select([
        'f.id', 'f.audience_id', 'f.user_id_type', 'f.operation_type', 'f.open_app_id', 'f.file_name', 'f.size', 'f.created_at',
        'c.status', 'c.error_code', 'c.error_message', 'c.reports',
      ])
      .orderBy('f.id', 'desc')
      .limit(pageSize)
      .offset((page - 1) * pageSize)
      .execute();
    const fields = q.fields ?? [...FILE_FIELDS];
    const list = rows.map((r) => {
      const full = present(r as FileRow);
      return Object.fromEntries(fields.map((k) => [k, full[k]]));
    });
    return adsOk({ list, page_info: { page, page_size: pageSize, total_number: total, total_page: Math.ceil(total / pageSize) } });
  });
};

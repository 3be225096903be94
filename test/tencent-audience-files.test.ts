// Tencent Marketing API customer files on /v1.3: custom_audience_files/add
// (a multipart file, a zip of files, or an upload named by data_path or
// resource_url) and custom_audience_files/get, through HTTP with the
// dialect's own access_token, timestamp and nonce. The refusal table sends
// requests that each break one rule and checks that nothing is kept: no
// file row, no change, no staging object, no spooled copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import yazl from 'yazl';
import { MAX_FILE_BYTES, SERVED, USER_ID_TYPES } from '../src/http/dialects/tencent-ads/files.js';
import { startJobs } from '../src/worker/handlers.js';
import { housekeepOnce } from '../src/worker/housekeeping.js';
import type { JobRunner } from '../src/worker/jobs.js';
import { builtAudience, lines, phones, uploadText } from './support/audiences.js';
import { allObjectFiles, closeHarness, md5, nativeApi, nativeCreate, rawExchange, run, waitFor } from './support/front-door.js';
import { startHarness, type Harness } from './support/harness.js';
import { adsGlobals, adsToken } from './support/tencent-ads.js';
import { createUploadUrl } from './support/vendor-clients.js';

type Body = Record<string, any>;
interface FilePart {
  file: string;
  content: string | Buffer;
}
type Part = [string, string | FilePart];

let h: Harness;
let token: string;
let account: string;
let other: { id: string; secret: string; token: string };

/** MD5s of phone numbers 13800000000 + from … + to - 1: what HASH_MOBILE_PHONE files hold. */
const hashed = (from: number, to: number) => phones(from, to).map(md5);

async function ads(method: 'GET' | 'POST', path: string, opts: { query?: Record<string, string | string[]>; form?: FormData; json?: unknown; as?: string } = {}): Promise<Body> {
  const params = new URLSearchParams(adsGlobals(h, opts.as ?? token));
  for (const [k, v] of Object.entries(opts.query ?? {})) for (const x of [v].flat()) params.append(k, x);
  const init: RequestInit = { method };
  if (opts.form) init.body = opts.form;
  if (opts.json !== undefined) {
    init.body = JSON.stringify(opts.json);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${h.url}/v1.3/${path}?${params}`, init);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** A multipart form with its parts in the order given. */
function formOf(parts: Part[]): FormData {
  const form = new FormData();
  for (const [name, v] of parts) {
    if (typeof v === 'string') form.append(name, v);
    else form.append(name, new Blob([typeof v.content === 'string' ? v.content : new Uint8Array(v.content)]), v.file);
  }
  return form;
}

const addForm = (parts: Part[], as?: string) => ads('POST', 'custom_audience_files/add', { form: formOf(parts), as });
const addJson = (body: Body) => ads('POST', 'custom_audience_files/add', { json: body });
const getFiles = (query: Record<string, string | string[]>, as?: string) => ads('GET', 'custom_audience_files/get', { query, as });

/** The fields of a valid add, then the file (as curl -F in the vendor's order sends them). */
const fields = (audienceId: number, extra: Part[] = []): Part[] => [['account_id', account], ['audience_id', String(audienceId)], ['user_id_type', 'HASH_MOBILE_PHONE'], ...extra];

async function newAudience(name: string, as?: string): Promise<number> {
  const r = await ads('POST', 'custom_audiences/add', { json: { account_id: Number(as ? other.id : account), name: `${name}-${randomUUID().slice(0, 6)}`, type: 'CUSTOMER_FILE' }, as });
  assert.equal(r.code, 0, JSON.stringify(r));
  return r.data.audience_id;
}

async function audienceOf(id: number): Promise<Body> {
  const r = await getAudience(id);
  assert.equal(r.code, 0, JSON.stringify(r));
  return r.data.list[0];
}
const getAudience = (id: number) => ads('GET', 'custom_audiences/get', { query: { account_id: account, audience_id: String(id) } });

/** Polls the file until it has finished; `seen` collects every process_status read on the way. */
async function finished(fileId: number, seen: string[] = []): Promise<Body> {
  return waitFor(`file ${fileId}`, async () => {
    const r = await getFiles({ account_id: account, custom_audience_file_id: String(fileId) });
    assert.equal(r.code, 0, JSON.stringify(r));
    const f = r.data.list[0];
    if (seen[seen.length - 1] !== f.process_status) seen.push(f.process_status);
    return f.process_status === 'SUCCESS' || f.process_status === 'ERROR' ? f : undefined;
  }, 30_000);
}

async function added(r: Body): Promise<Body> {
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.deepEqual(Object.keys(r.data), ['custom_audience_file_id']);
  assert.ok(Number.isInteger(r.data.custom_audience_file_id) && r.data.custom_audience_file_id > 0);
  return finished(r.data.custom_audience_file_id);
}

/** The audience's size once its last change has finished. */
async function sizeOf(id: number): Promise<number> {
  return waitFor(`audience ${id}`, async () => {
    const a = await audienceOf(id);
    return a.status === 'SUCCESS' ? { n: a.user_count as number } : undefined;
  }, 30_000).then((x) => x!.n);
}

function zipOf(entries: Array<[string, string | Buffer | null]>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, content] of entries) {
    if (content === null) z.addEmptyDirectory(name);
    else z.addBuffer(Buffer.from(content), name);
  }
  z.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    z.outputStream.on('data', (c: Buffer) => chunks.push(c));
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    z.outputStream.on('error', reject);
  });
}

/** Rewrites the central directory record of the zip's `index`th entry (offsets as in APPNOTE 4.3.12). */
function patchCentral(zip: Buffer, index: number, patch: (b: Buffer, at: number) => void): Buffer {
  const out = Buffer.from(zip);
  let found = -1;
  for (let at = 0; at + 4 <= out.length; at++) {
    if (out.readUInt32LE(at) === 0x02014b50 && ++found === index) {
      patch(out, at);
      return out;
    }
  }
  throw new Error(`no central directory record ${index}`);
}

/** The staging objects in the store after housekeeping has deleted what is due. */
async function stagingObjects(): Promise<string[]> {
  await housekeepOnce(h.app);
  return allObjectFiles(h).filter((f) => f.includes('/staging/'));
}

const count = async (table: 'ads_audience_files' | 'audience_changes') =>
  Number((await h.app.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', account).executeTakeFirstOrThrow()).n);

/** Spooled copies of files (zips, files sent before their fields) left in the temporary folder since `since`. */
const spooled = (since: number) =>
  readdirSync(tmpdir())
    .filter((n) => n.startsWith('audiencehub-ads-file-'))
    .filter((n) => statSync(join(tmpdir(), n)).mtimeMs >= since);

before(async () => {
  h = await startHarness({ jobs: true });
  account = h.account.id;
  token = await adsToken(h);
  const o = await h.newAccount('other-account');
  other = { id: o.id, secret: o.secret, token: await adsToken(h, o.secret) };
});
after(async () => closeHarness(h));

test('every user_id_type the vendor documents is in the enum; the served ones are those the registry reads', () => {
  for (const t of ['HASH_IDFA', 'HASH_IMEI', 'HASH_MOBILE_PHONE', 'IDFA', 'IMEI', 'WX_OPENID', 'WX_UNIONID', 'WECHAT_OPENID', 'SALTED_HASH_IMEI', 'SALTED_HASH_IDFA',
    'OAID', 'HASH_OAID', 'SHA256_MOBILE_PHONE', 'MD5_SHA256_IMEI', 'MD5_SHA256_IDFA', 'MD5_SHA256_OAID', 'CAID', 'HASH_MAC', 'MAC', 'QQ', 'HASH_QQ', 'GDT_OPENID']) {
    assert.ok((USER_ID_TYPES as readonly string[]).includes(t), t);
    assert.ok(SERVED.includes(t as (typeof SERVED)[number]), `${t} is served`);
  }
  assert.ok(!SERVED.includes('MOBILE_QQ_OPENID'));
});

test('a txt file of HASH_MOBILE_PHONE reads PENDING until its change runs, then SUCCESS with its counts; the audience holds its users', async () => {
  // A service without a job runner, so the file is seen waiting; the runner is started once that is checked.
  const main = { h, token, account };
  const quiet = await startHarness();
  let runner: JobRunner | undefined;
  try {
    h = quiet;
    account = quiet.account.id;
    token = (await nativeApi(quiet, 'POST', '/v1/tokens')).body.access_token;
    const id = await newAudience('txt');
    // Hashes in either case, and one line that is no hash at all.
    const content = lines([...hashed(0, 100).map((x, i) => (i % 2 ? x.toUpperCase() : x)), 'not-a-hash']);
    const r = await addForm([...fields(id), ['file', { file: '手机号.txt', content }]]);
    assert.deepEqual(r, { code: 0, message: '', message_cn: '', data: { custom_audience_file_id: r.data?.custom_audience_file_id } });
    const fileId = r.data.custom_audience_file_id;
    assert.ok(Number.isInteger(fileId) && fileId > 0, JSON.stringify(r));
    const common = { audience_id: id, custom_audience_file_id: fileId, name: '手机号.txt', user_id_type: 'HASH_MOBILE_PHONE', operation_type: 'APPEND', open_app_id: '', size: Buffer.byteLength(content) };
    const waiting = (await getFiles({ account_id: account, custom_audience_file_id: String(fileId) })).data.list[0];
    assert.match(waiting.created_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    delete waiting.created_time;
    assert.deepEqual(waiting, { ...common, process_status: 'PENDING', process_code: 0, error_message: '', line_count: 0, valid_line_count: 0, user_count: 0 });

    runner = startJobs(quiet.app, { pollMs: 50 });
    const seen: string[] = [];
    const done = await finished(fileId, seen);
    assert.deepEqual(seen.filter((s) => s !== 'SUCCESS'), ['PENDING', 'PROCESSING'].filter((s) => seen.includes(s)), `statuses only move forward: ${seen}`);
    delete done.created_time;
    assert.deepEqual(done, { ...common, process_status: 'SUCCESS', process_code: 0, error_message: '', line_count: 101, valid_line_count: 100, user_count: 100 });
    assert.equal(await sizeOf(id), 100);
  } finally {
    ({ h, token, account } = main);
    await runner?.stop();
    await closeHarness(quiet);
  }
});

test('csv, a zip of two files, REDUCE after APPEND (fields after the file too): each changes the audience by exactly its users', async () => {
  const id = await newAudience('steps');
  const csv = hashed(0, 50).join('\r\n') + '\r\n';
  const c = await added(await addForm([...fields(id), ['file', { file: 'first.csv', content: csv }]]));
  assert.deepEqual([c.process_status, c.line_count, c.valid_line_count, c.user_count, c.size], ['SUCCESS', 50, 50, 50, Buffer.byteLength(csv)]);
  assert.equal(await sizeOf(id), 50);

  // Two entries: the first ends without a line break, the second starts with a BOM; directories and macOS metadata are skipped.
  const zip = await zipOf([
    ['dir/', null],
    ['dir/a.txt', hashed(50, 70).join('\n')],
    ['b.csv', '\ufeff' + lines(hashed(70, 100))],
    ['__MACOSX/dir/._a.txt', Buffer.from([0, 5, 22, 7, 0, 2, 0, 0])],
    ['dir/.DS_Store', Buffer.from([0, 0, 0, 1, 66, 117, 100, 49])],
  ]);
  const z = await added(await addForm([...fields(id), ['file', { file: 'two.zip', content: zip }]]));
  assert.deepEqual([z.process_status, z.name, z.line_count, z.valid_line_count, z.user_count, z.size], ['SUCCESS', 'two.zip', 50, 50, 50, zip.length]);
  assert.equal(await sizeOf(id), 100);

  // The SDKs in declared-parameter order send operation_type after the file.
  const reduce = await added(await addForm([...fields(id), ['file', { file: 'gone.txt', content: lines(hashed(0, 30)) }], ['operation_type', 'REDUCE']]));
  assert.deepEqual([reduce.process_status, reduce.operation_type, reduce.user_count], ['SUCCESS', 'REDUCE', 30]);
  assert.equal(await sizeOf(id), 70);

  // Every field after the file: it is held aside until they arrive, then taken as any other.
  const late = await added(
    await addForm([['file', { file: 'late.txt', content: lines(hashed(0, 10)) }], ['user_id_type', 'HASH_MOBILE_PHONE'], ['audience_id', String(id)], ['account_id', account], ['operation_type', 'APPEND']]),
  );
  assert.deepEqual([late.process_status, late.user_count], ['SUCCESS', 10]);
  assert.equal(await sizeOf(id), 80);
  assert.deepEqual(await stagingObjects(), [], 'each change deleted its staged file when it finished');
});

test("the vendor's curl example, argument for argument: a zip of IMEIs", async () => {
  const id = await newAudience('curl');
  const dir = mkdtempSync(join(tmpdir(), 'ah-ads-curl-'));
  try {
    const path = join(dir, 'audiencefile.zip');
    writeFileSync(path, await zipOf([['imei.txt', lines(['356938035643809', '490154203237518', '861234567890123'])]]));
    const params = new URLSearchParams(adsGlobals(h, token));
    const out = await run('curl', ['-s', `${h.url}/v1.3/custom_audience_files/add?${params}`, '-F', `account_id=${account}`, '-F', `audience_id=${id}`, '-F', 'user_id_type=IMEI', '-F', `file=@${path}`]);
    assert.equal(out.code, 0, out.stderr);
    const f = await added(JSON.parse(out.stdout));
    assert.deepEqual([f.process_status, f.name, f.user_id_type, f.user_count], ['SUCCESS', 'audiencefile.zip', 'IMEI', 3]);
    assert.equal(await sizeOf(id), 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the file row commits with its change: when the row cannot be written, no change is made and the staged file goes', async () => {
  const id = await newAudience('within');
  const changes = await count('audience_changes');
  const staged = await h.app.audiences.stage(account, 1, Buffer.from(lines(hashed(0, 3))), { name: 'x.txt' });
  await assert.rejects(
    h.app.audiences.change(account, id, { operation: 'append', staged: [{ ...staged, idType: 'phone_md5' }] }, {
      within: async () => {
        throw new Error('the dialect could not record the file');
      },
    }),
    /could not record the file/,
  );
  assert.equal(await count('audience_changes'), changes);
  assert.deepEqual(await stagingObjects(), []);
});

test('data_path and resource_url name an upload of the account: the change reads it where it is', async () => {
  const id = await newAudience('by-path');
  const content = lines(hashed(200, 240));
  const uploadId = await uploadText(h, 'upload.txt', content);
  const up = (await nativeApi(h, 'GET', `/v1/uploads/${uploadId}`)).body;
  assert.match(up.data_path, /^s3:\/\/audiencehub-intl\//);
  const before = (await stagingObjects()).length;
  const byPath = await added(await addJson({ account_id: account, audience_id: id, user_id_type: 'HASH_MOBILE_PHONE', data_path: up.data_path }));
  assert.deepEqual([byPath.process_status, byPath.name, byPath.size, byPath.user_count], ['SUCCESS', up.data_path, Buffer.byteLength(content), 40]);
  assert.equal(await sizeOf(id), 40);

  // The same object by its oss:// name, in a form with no file, as REDUCE.
  const ossPath = up.data_path.replace(/^s3:/, 'oss:');
  const reduce = await added(await addForm([...fields(id), ['data_path', ossPath], ['operation_type', 'REDUCE']]));
  assert.deepEqual([reduce.process_status, reduce.name], ['SUCCESS', ossPath]);
  assert.equal(await sizeOf(id), 0);

  // Tencent Cloud's CreateUploadUrl: PUT to UploadUrl, then name the file by its ResourceUrl.
  const u = await createUploadUrl(h, h.account);
  assert.ok(u.ok, JSON.stringify(u));
  const body = lines(hashed(300, 325));
  const put = await fetch(u.response.UploadUrl, { method: 'PUT', body });
  assert.equal(put.status, 200, await put.text());
  const byUrl = await added(await addForm([...fields(id), ['resource_url', u.response.ResourceUrl]]));
  assert.deepEqual([byUrl.process_status, byUrl.name, byUrl.size, byUrl.user_count], ['SUCCESS', u.response.ResourceUrl, Buffer.byteLength(body), 25]);
  assert.equal(await sizeOf(id), 25);
  assert.equal((await stagingObjects()).length, before, 'nothing was staged: the uploads were read in place');
});

test('a file with no valid line ends in ERROR with process_code 1 and its counts; the audience keeps its users', async () => {
  const id = await newAudience('bad-lines');
  await added(await addForm([...fields(id), ['file', { file: 'good.txt', content: lines(hashed(0, 5)) }]]));
  const bad = await added(await addForm([...fields(id), ['file', { file: 'bad.txt', content: 'hello\nworld\n' }]]));
  assert.deepEqual([bad.process_status, bad.process_code, bad.line_count, bad.valid_line_count, bad.user_count], ['ERROR', 1, 2, 0, 0]);
  assert.match(bad.error_message, /no line of the file is a valid phone_md5/);
  assert.equal(await sizeOf(id), 5);
});

test('WECHAT_OPENID with its open_app_id', async () => {
  const id = await newAudience('openid');
  const openids = Array.from({ length: 12 }, (_, i) => `oAbCdEf_${String(i).padStart(4, '0')}-xyz7890ABCDEFgh`);
  const r = await added(await addForm([...fields(id).filter(([k]) => k !== 'user_id_type'), ['user_id_type', 'WECHAT_OPENID'], ['open_app_id', 'wx0123456789abcdef'], ['file', { file: 'openids.txt', content: lines(openids) }]]));
  assert.deepEqual([r.process_status, r.user_id_type, r.open_app_id, r.user_count], ['SUCCESS', 'WECHAT_OPENID', 'wx0123456789abcdef', 12]);
  assert.equal(await sizeOf(id), 12);
});

test('custom_audience_files/get: by file, by audience, by account, in pages, with fields; another account reads nothing of it', async () => {
  const id = await newAudience('listed');
  const made: number[] = [];
  for (let i = 0; i < 3; i++) made.push((await added(await addForm([...fields(id), ['file', { file: `f${i}.txt`, content: lines(hashed(i * 10, i * 10 + 10)) }]]))).custom_audience_file_id);
  const q = (extra: Record<string, string | string[]>) => getFiles({ account_id: account, ...extra });

  const all = await q({ audience_id: String(id) });
  assert.equal(all.code, 0, JSON.stringify(all));
  assert.deepEqual(all.data.list.map((f: Body) => f.custom_audience_file_id), [...made].reverse(), 'newest first');
  assert.deepEqual(all.data.page_info, { page: 1, page_size: 10, total_number: 3, total_page: 1 });
  const p2 = await q({ audience_id: String(id), page: '2', page_size: '2' });
  assert.deepEqual(p2.data.page_info, { page: 2, page_size: 2, total_number: 3, total_page: 2 });
  assert.deepEqual(p2.data.list.map((f: Body) => f.custom_audience_file_id), [made[0]]);
  const p3 = await q({ audience_id: String(id), page: '3', page_size: '2' });
  assert.deepEqual(p3.data.list, []);

  const one = await q({ custom_audience_file_id: String(made[1]) });
  assert.deepEqual([one.data.list.length, one.data.list[0].name, one.data.list[0].audience_id], [1, 'f1.txt', id]);
  const accountWide = await q({ page_size: '100' });
  assert.ok(made.every((m) => accountWide.data.list.some((f: Body) => f.custom_audience_file_id === m)));
  assert.equal(accountWide.data.page_info.total_number, accountWide.data.list.length);

  // fields as JSON, repeated (the SDKs' "multi") or joined by commas.
  for (const fields of [JSON.stringify(['custom_audience_file_id', 'process_status']), ['custom_audience_file_id', 'process_status'], 'custom_audience_file_id,process_status']) {
    const r = await q({ custom_audience_file_id: String(made[0]), fields });
    assert.deepEqual(r.data.list, [{ custom_audience_file_id: made[0], process_status: 'SUCCESS' }], JSON.stringify(fields));
  }

  const refused: Array<[Record<string, string>, number, string]> = [
    [{ custom_audience_file_id: '999999999' }, 31005, 'custom_audience_file_id'],
    [{ audience_id: String(await newAudience('empty')), custom_audience_file_id: String(made[0]) }, 31005, 'custom_audience_file_id'],
    [{ audience_id: '999999999' }, 31005, 'audience_id'],
    [{ page_size: '101' }, 31002, 'page_size'],
    [{ page_size: '0' }, 31002, 'page_size'],
    [{ page: '0' }, 31002, 'page'],
    [{ custom_audience_file_id: 'abc' }, 31002, 'custom_audience_file_id'],
    [{ fields: JSON.stringify(['colour']) }, 31002, 'fields[0]'],
    [{ colour: 'red' }, 31002, 'colour'],
  ];
  for (const [extra, code, field] of refused) {
    const r = await q(extra);
    assert.equal(r.code, code, `${JSON.stringify(extra)}: ${JSON.stringify(r)}`);
    assert.match(r.message_cn, new RegExp(`字段：${field.replace(/[[\]]/g, '\\$&')}`));
  }
  assert.equal((await getFiles({})).code, 31001);
  assert.equal((await getFiles({ account_id: other.id })).code, 11014);

  // Another account: its token cannot name this account, and our ids read as missing for it.
  const theirs = await getFiles({ account_id: other.id, custom_audience_file_id: String(made[0]) }, other.token);
  assert.equal(theirs.code, 31005, JSON.stringify(theirs));
  assert.equal((await getFiles({ account_id: other.id, audience_id: String(id) }, other.token)).code, 31005);
  assert.deepEqual((await getFiles({ account_id: other.id }, other.token)).data.list, []);
});

test('every rule refuses a request that breaks it, naming the field, and nothing is kept: no file row, no change, no staging object, no spooled copy', async () => {
  const started = Date.now();
  const target = await newAudience('refusals');
  const built = (await builtAudience(h, { name: `seed-${randomUUID().slice(0, 6)}`, ids: { id_type: 'phone', values: phones(0, 5) } })).id;
  const combine = await ads('POST', 'custom_audiences/add', {
    json: { account_id: account, name: `combo-${randomUUID().slice(0, 6)}`, type: 'COMBINE', audience_spec: { combine_spec: { include: [[{ audience_id: built }]] } } },
  });
  assert.equal(combine.code, 0, JSON.stringify(combine));
  const theirAudience = await newAudience('theirs', other.token);
  const theirUpload = (await nativeApi(h, 'GET', `/v1/uploads/${await uploadText(h, 'theirs.txt', lines(hashed(0, 3)), { secret: other.secret })}`, { secret: other.secret })).body;
  const elsewhere = (await nativeApi(h, 'GET', `/v1/uploads/${await uploadText(h, 'cn.txt', lines(hashed(0, 3)), { clusterId: 2 })}`)).body;
  const unfinished = (await nativeCreate(h, { file_name: 'never-sent.txt', size: 10 })).upload;

  const file: Part = ['file', { file: 'ids.txt', content: lines(hashed(0, 3)) }];
  const valid = (): Part[] => [...fields(target), file];
  /** The valid form with `name` set to `value` (null: left out); a new field goes before the file. */
  const edit = (changes: Record<string, string | FilePart | null>, parts = valid()): Part[] => {
    let out = parts.filter(([k]) => !(k in changes && changes[k] === null));
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) continue;
      const at = out.findIndex(([n]) => n === k);
      if (at >= 0) out[at] = [k, v];
      else out = [...out.filter(([n]) => n !== 'file'), [k, v], ...out.filter(([n]) => n === 'file')];
    }
    return out;
  };
  const zipped = (entries: Array<[string, string | Buffer | null]>) => zipOf(entries).then((content): FilePart => ({ file: 'ids.zip', content }));
  const good = lines(hashed(0, 3));
  const twoEntries = await zipOf([['big1.txt', good], ['big2.txt', good]]);
  // Sizes in the central directory are what the limit reads: two entries declaring 4 GiB each.
  const declaredHuge = patchCentral(patchCentral(twoEntries, 0, (b, at) => b.writeUInt32LE(0xfffffffe, at + 24)), 1, (b, at) => b.writeUInt32LE(0xfffffffe, at + 24));
  const encrypted = patchCentral(await zipOf([['secret.txt', good]]), 0, (b, at) => b.writeUInt16LE(b.readUInt16LE(at + 8) | 1, at + 8));

  interface Row {
    label: string;
    send: () => Promise<Body>;
    code: number;
    field?: string;
    message?: RegExp;
  }
  const form = (label: string, parts: Part[], code: number, field?: string, message?: RegExp): Row => ({ label, send: () => addForm(parts), code, field, message });
  const json = (label: string, body: Body, code: number, field?: string, message?: RegExp): Row => ({ label, send: () => addJson(body), code, field, message });
  const jsonBase = { account_id: account, audience_id: target, user_id_type: 'HASH_MOBILE_PHONE' };
  const rows: Row[] = [
    form('no account_id', edit({ account_id: null }), 31001, 'account_id'),
    form('account_id not a number', edit({ account_id: 'abc' }), 31002, 'account_id'),
    form('another account', edit({ account_id: other.id }), 11014, 'account_id'),
    form('no audience_id', edit({ audience_id: null }), 31001, 'audience_id'),
    form('audience_id 0', edit({ audience_id: '0' }), 31002, 'audience_id'),
    form('unknown audience', edit({ audience_id: '999999999' }), 31005, 'audience_id'),
    form("another account's audience", edit({ audience_id: String(theirAudience) }), 31005, 'audience_id'),
    form('a COMBINE audience', edit({ audience_id: String(combine.data.audience_id) }), 31002, 'audience_id', /COMBINE audience; files are added only to CUSTOMER_FILE/),
    form('no user_id_type', edit({ user_id_type: null }), 31001, 'user_id_type'),
    form('unknown user_id_type', edit({ user_id_type: 'EMAIL' }), 31002, 'user_id_type', /one of HASH_IDFA, .*HASH_MOBILE_PHONE.*MOBILE_QQ_OPENID, got "EMAIL"/),
    form('user_id_type not served', edit({ user_id_type: 'MOBILE_QQ_OPENID', open_app_id: '1101234567' }), 31010, 'user_id_type', /MOBILE_QQ_OPENID is not available on this deployment.*served: .*HASH_MOBILE_PHONE/),
    form('openid without open_app_id', edit({ user_id_type: 'WECHAT_OPENID' }), 31001, 'open_app_id', /required when user_id_type is WECHAT_OPENID or WX_OPENID or MOBILE_QQ_OPENID/),
    form('open_app_id without an openid', edit({ open_app_id: 'wx0123456789abcdef' }), 31002, 'open_app_id', /only allowed when user_id_type is/),
    form('open_app_id over 128 bytes', edit({ user_id_type: 'WX_OPENID', open_app_id: 'w'.repeat(129) }), 31002, 'open_app_id'),
    form('unknown operation_type', edit({ operation_type: 'DELETE' }), 31002, 'operation_type', /APPEND, REDUCE/),
    form('unknown operation_type after the file', [...valid(), ['operation_type', 'DELETE']], 31002, 'operation_type'),
    form('unknown audience after the file', [file, ['account_id', account], ['audience_id', '999999999'], ['user_id_type', 'HASH_MOBILE_PHONE']], 31005, 'audience_id'),
    form('no file', edit({ file: null }), 31001, 'file', /required when data_path is absent and resource_url is absent/),
    form('file as a text field', edit({ file: 'not a file' }), 31002, 'file'),
    form('two files', [...valid(), ['file', { file: 'more.txt', content: good }]], 31002, 'file'),
    form('the file under another name', [...fields(target), ['upload', { file: 'ids.txt', content: good }]], 31002, 'upload'),
    form('a field the call does not have', edit({ salt_id: 'x' }), 31002, 'salt_id'),
    form('file and data_path', edit({ data_path: elsewhere.data_path }), 31002, 'data_path', /give at most one of file, data_path, resource_url/),
    json('data_path and resource_url', { ...jsonBase, data_path: theirUpload.data_path, resource_url: 'https://example.com/x' }, 31002, 'resource_url'),
    json('data_path not a data path', { ...jsonBase, data_path: 'http://example.com/x.txt' }, 31002, 'data_path'),
    json('data_path of a bucket not ours', { ...jsonBase, data_path: 'oss://not-our-bucket/x.txt' }, 11014, 'data_path'),
    json("data_path of another account's upload", { ...jsonBase, data_path: theirUpload.data_path }, 11014, 'data_path'),
    json('data_path of an upload not finished', { ...jsonBase, data_path: unfinished.data_path }, 31004, 'data_path'),
    json('data_path of an upload in another cluster', { ...jsonBase, data_path: elsewhere.data_path }, 31002, 'data_path', /cluster/),
    json('resource_url of no upload', { ...jsonBase, resource_url: 'https://example.com/x.txt' }, 11014, 'resource_url'),
    json('a JSON body with file', { ...jsonBase, file: 'ids.txt' }, 31002, 'file'),
    json('a JSON body naming no file', jsonBase, 31001, 'file'),
    json('a JSON field the call does not have', { ...jsonBase, data_path: theirUpload.data_path, colour: 'red' }, 31002, 'colour'),
    form('an empty file', edit({ file: { file: 'empty.txt', content: '' } }), 31002, 'file', /empty/),
    form('a broken zip', edit({ file: { file: 'ids.zip', content: Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(64, 7)]) } }), 31002, 'file', /zip/),
    form('a zip in the zip', edit({ file: await zipped([['a.txt', good], ['inner.zip', await zipOf([['b.txt', good]])]]) }), 31002, 'file', /"inner\.zip" of the zip is itself a zip/),
    form('a zip named txt in the zip', edit({ file: await zipped([['renamed.txt', await zipOf([['b.txt', good]])]]) }), 31002, 'file', /"renamed\.txt" of the zip is itself a zip/),
    form('a binary entry', edit({ file: await zipped([['a.txt', good], ['photo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0])]]) }), 31002, 'file', /"photo\.png" of the zip is not a txt or csv file/),
    form('a gzip entry', edit({ file: await zipped([['gz.txt', gzipSync(good)]]) }), 31002, 'file', /"gz\.txt" of the zip is gzip-compressed/),
    form('an encrypted entry', edit({ file: { file: 'ids.zip', content: encrypted } }), 31002, 'file', /"secret\.txt" of the zip is encrypted/),
    form('a zip over 5 GiB unzipped', edit({ file: { file: 'ids.zip', content: declaredHuge } }), 31002, 'file', /expand to more than 5 GiB .*"big2\.txt"/),
    form('a zip of nothing to read', edit({ file: await zipped([['dir/', null], ['__MACOSX/._a.txt', good]]) }), 31002, 'file', /holds no txt or csv file/),
  ];

  const filesBefore = await count('ads_audience_files');
  const changesBefore = await count('audience_changes');
  const stagingBefore = await stagingObjects();
  const failures: string[] = [];
  for (const row of rows) {
    const r = await row.send();
    const ok =
      r.code === row.code &&
      (row.field === undefined || (r.message.includes(row.field) && r.message_cn.includes(`字段：${row.field}`))) &&
      (row.message === undefined || row.message.test(r.message)) &&
      r.message_cn !== '';
    if (!ok) failures.push(`${row.label}: expected ${row.code} naming ${row.field}${row.message ? ` matching ${row.message}` : ''}, got ${JSON.stringify(r)}`);
  }
  assert.deepEqual(failures, []);
  assert.equal(await count('ads_audience_files'), filesBefore, 'no file row');
  assert.equal(await count('audience_changes'), changesBefore, 'no change');
  assert.deepEqual(await stagingObjects(), stagingBefore, 'no staging object');
  assert.deepEqual(spooled(started), [], 'no spooled copy');
  // A body that is neither a form nor JSON.
  const bare = await fetch(`${h.url}/v1.3/custom_audience_files/add?${new URLSearchParams(adsGlobals(h, token))}`, { method: 'POST' });
  const b = await bare.json();
  assert.equal(b.code, 31002, JSON.stringify(b));
  assert.match(b.message, /multipart\/form-data/);
});

test('a file over 100 MiB is refused while it arrives, naming file, and nothing is kept', async () => {
  const id = await newAudience('too-big');
  const boundary = `----AudienceHub${randomUUID().replace(/-/g, '')}`;
  const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    field('account_id', account) +
    field('audience_id', String(id)) +
    field('user_id_type', 'HASH_MOBILE_PHONE') +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\nContent-Type: text/plain\r\n\r\n`;
  const tail = `\r\n--${boundary}--\r\n`;
  const size = MAX_FILE_BYTES + 1;
  const params = new URLSearchParams(adsGlobals(h, token));
  const filesBefore = await count('ads_audience_files');
  const changesBefore = await count('audience_changes');
  const x = await rawExchange(h, 'POST', `${h.url}/v1.3/custom_audience_files/add?${params}`, {
    'Content-Type': `multipart/form-data; boundary=${boundary}`,
    'Content-Length': Buffer.byteLength(head) + size + Buffer.byteLength(tail),
  });
  const chunk = Buffer.from(lines(hashed(0, 1)).repeat(32_768)); // 1 MiB of 33-byte lines
  const t0 = Date.now();
  assert.ok(await x.write(head));
  let sent = 0;
  while (sent < size && !x.answered()) {
    const n = Math.min(chunk.length, size - sent);
    if (!(await x.write(chunk.subarray(0, n)))) break;
    sent += n;
  }
  const res = await x.response;
  x.socket.destroy();
  // The exchange keeps the bytes as latin1; the body is UTF-8 JSON.
  const answer = JSON.parse(Buffer.from(res.text.slice(res.text.indexOf('\r\n\r\n') + 4), 'latin1').toString('utf8'));
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.equal(answer.code, 31002, JSON.stringify(answer));
  assert.match(answer.message, /^file is larger than 104857600 bytes \(100 MiB\)/);
  assert.match(answer.message_cn, /字段：file/);
  assert.ok(sent > MAX_FILE_BYTES - chunk.length, `the refusal came once the limit was passed (${sent} bytes sent)`);
  assert.ok(Date.now() - t0 < 30_000);
  assert.equal(await count('ads_audience_files'), filesBefore);
  assert.equal(await count('audience_changes'), changesBefore);
  assert.deepEqual(await stagingObjects(), []);
  assert.equal((await audienceOf(id)).user_count, 0);
});

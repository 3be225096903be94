// `audiencehub audience …` and `audiencehub jobs`: the audience API of a
// running service (docs/audiences.md) from the command line. Text for people
// by default, the service's JSON with --json; `--wait` follows the change or
// export to its end (exit 0 on SUCCESS, 1 on ERROR).
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CliError, connect, connectionOptions, serviceError, unreachable, type Client, type ConnectionOptions } from './client.js';
import { byteProgress, progressMode, type ProgressMode } from './progress.js';
import { positiveInt, storeRefusal, uploadFile } from './upload.js';
import { audienceTable, changeSummary, describeAudience, describeChange, describeExport, describeJob, describeOverlap, jobTable, table } from './view.js';
import { failed, waitFor } from './wait.js';

type Obj = Record<string, any>;

interface FileOpts extends ConnectionOptions {
  upload?: string[];
  file?: string[];
  idType?: string;
  csvColumn?: string;
  csvHeader?: 'true' | 'false' | 'auto';
  csvDelimiter?: string;
  cluster?: number;
  wait?: boolean;
}

// Repeatable options start undefined (no default, so none is shown in --help).
const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

/** `--include 1,2`: one OR group of audience ids. */
function idGroup(v: string, prev: number[][] | undefined): number[][] {
  const ids = v.split(',').map((s) => s.trim());
  if (!ids.length || ids.some((s) => !/^[1-9]\d*$/.test(s))) throw new InvalidArgumentError('a comma-separated list of audience ids is expected (e.g. 1,2)');
  return [...(prev ?? []), ids.map(Number)];
}

function out(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write((json ? JSON.stringify(value, null, 2) : text()) + '\n');
}

/** A subcommand; `conn` then adds --url, --key and --json last, so that they close its help. */
const sub = (parent: Command, name: string) => parent.command(name);
const conn = connectionOptions;

const inputOptions = (c: Command) =>
  c
    .option('--upload <id>', 'a READY upload of this account (repeatable)', collect)
    .option('--file <path>', 'upload this file first and use it (repeatable)', collect)
    .option('--id-type <type>', 'id type of the files: a registry name (docs/id-types.md) or detect')
    .option('--csv-column <column>', 'for CSV files: the column, a header name or a 0-based index')
    .addOption(new Option('--csv-header <header>', 'for CSV files: whether the first row is a header').choices(['true', 'false', 'auto']))
    .option('--csv-delimiter <char>', 'for CSV files: the delimiter (default ,)')
    .option('--cluster <n>', 'data cluster of the audience and of the uploads made with --file', positiveInt)
    .option('--wait', 'wait until the change is SUCCESS or ERROR');

/** The `files` of a create or change: the given upload ids, then each --file uploaded in turn. */
async function inputFiles(client: Client, o: FileOpts, mode: ProgressMode): Promise<Obj[]> {
  const uploads = o.upload ?? [];
  const paths = o.file ?? [];
  if (!uploads.length && !paths.length) throw new CliError('give at least one --upload ID or --file PATH');
  // Checked before any file is sent, so a forgotten flag costs no upload.
  if (!o.idType) throw new CliError('--id-type is required: the id type of the files (a registry name, or detect)');
  let csv: Obj | undefined;
  if (o.csvColumn !== undefined || o.csvHeader !== undefined || o.csvDelimiter !== undefined) {
    if (o.csvColumn === undefined) throw new CliError('--csv-header and --csv-delimiter need --csv-column');
    csv = { column: /^\d+$/.test(o.csvColumn) ? Number(o.csvColumn) : o.csvColumn };
    if (o.csvHeader) csv.header = o.csvHeader === 'auto' ? 'auto' : o.csvHeader === 'true';
    if (o.csvDelimiter) csv.delimiter = o.csvDelimiter;
  }
  const ids = [...uploads];
  for (const path of paths) {
    const up = await uploadFile(client, path, { clusterId: o.cluster, mode });
    // Said even with --json (on stderr): if the request below fails, the upload can be reused with --upload.
    process.stderr.write(`uploaded ${path} as ${up.id}\n`);
    ids.push(up.id);
  }
  return ids.map((upload_id) => ({ upload_id, id_type: o.idType, ...(csv ? { csv } : {}) }));
}

const audiencePath = (id: number | string) => `/v1/audiences/${encodeURIComponent(String(id))}`;

/**
 * After a create or a change: without --wait, what the service answered;
 * with it, the change followed to its end and then the audience as it is.
 */
async function report(client: Client, o: ConnectionOptions & { wait?: boolean }, answered: Obj, audience: Obj, change: Obj | undefined) {
  if (!o.wait) {
    // A create answers the audience (whose last change is this one); a change answers only the change.
    const shown = audience.last_change?.id === change?.id ? [describeAudience(audience)] : [audience.name ? describeAudience(audience) : '', change ? changeSummary(change) : ''];
    out(o.json, answered, () => shown.filter(Boolean).join('\n'));
    return;
  }
  const mode = progressMode(o.json);
  const byChange = change?.id !== undefined && change?.id !== null;
  const label = byChange ? `change ${change!.id} of audience ${audience.id}` : `audience ${audience.id}`;
  const read = byChange
    ? () => client.call<Obj>('GET', `${audiencePath(audience.id)}/changes/${encodeURIComponent(String(change!.id))}`)
    : () => client.call<Obj>('GET', audiencePath(audience.id));
  const end = await waitFor(client, { label, read }, mode);
  const now = await client.call<Obj>('GET', audiencePath(audience.id));
  out(o.json, now, () => describeAudience(now));
  if (end.status === 'ERROR') throw failed(label, end);
}

function registerCreate(audience: Command) {
  const create = inputOptions(
    sub(audience, 'create')
      .description('create an audience from uploads or files (type CUSTOMER_FILE)')
      .requiredOption('--name <name>', 'audience name, unique in the account')
      .option('--description <text>', 'description')
      .option('--external-id <id>', 'your id for it: creating again with the same one answers the audience already made'),
  );
  conn(create).action(async (o: FileOpts & { name: string; description?: string; externalId?: string }) => {
    const client = connect(o);
    const files = await inputFiles(client, o, progressMode(o.json));
    const body = { name: o.name, description: o.description, external_id: o.externalId, type: 'CUSTOMER_FILE', cluster_id: o.cluster, files };
    const r = await client.call<Obj>('POST', '/v1/audiences', body);
    const a = r.audience ?? r;
    await report(client, o, r, a, r.change ?? a.last_change);
  });
}

function registerChanges(audience: Command) {
  for (const operation of ['append', 'remove', 'replace'] as const) {
    const what = { append: 'add the ids of files to', remove: 'remove the ids of files from', replace: 'replace the members of' }[operation];
    const cmd = inputOptions(sub(audience, operation).description(`${what} an audience (a new version)`)).argument('<id>', 'audience id', positiveInt);
    conn(cmd).action(async (id: number, o: FileOpts) => {
      const client = connect(o);
      const files = await inputFiles(client, o, progressMode(o.json));
      const r = await client.call<Obj>('POST', `${audiencePath(id)}/changes`, { operation, files });
      const change = r.change ?? r;
      if (o.wait && (change.id === undefined || change.id === null)) throw new CliError('the service answered no change id to wait for');
      await report(client, o, r, { id }, change);
    });
  }

  const changes = sub(audience, 'changes')
    .description("an audience's changes, newest first, or one of them")
    .argument('<id>', 'audience id', positiveInt)
    .argument('[change-id]', 'one change');
  conn(changes).action(async (id: number, changeId: string | undefined, o: ConnectionOptions) => {
    const client = connect(o);
    if (changeId) {
      const c = await client.call<Obj>('GET', `${audiencePath(id)}/changes/${encodeURIComponent(changeId)}`);
      return out(o.json, c, () => describeChange(c));
    }
    const r = await client.call<Obj>('GET', `${audiencePath(id)}/changes`);
    const items: Obj[] = r.items ?? [];
    out(o.json, r, () =>
      items.length ? table(['ID', 'OPERATION', 'STATUS', 'VERSION', 'CREATED', 'ERROR'], items.map((c) => [c.id, c.operation, c.status, c.version, c.created_at, c.error?.message ?? c.error])) : 'no changes',
    );
  });
}

function registerCombine(audience: Command) {
  const cmd = sub(audience, 'combine')
    .description('create an audience from others: (any of each --include) and ... minus (any --exclude)')
    .requiredOption('--name <name>', 'audience name, unique in the account')
    .requiredOption('--include <ids>', 'audience ids whose union is taken (repeatable; the groups are intersected)', idGroup)
    .option('--exclude <ids>', 'audience ids whose members are taken out (repeatable)', idGroup)
    .option('--description <text>', 'description')
    .option('--external-id <id>', 'your id for it: creating again with the same one answers the audience already made')
    .option('--cluster <n>', 'data cluster (default: that of the inputs)', positiveInt)
    .option('--wait', 'wait until the audience is SUCCESS or ERROR');
  conn(cmd).action(async (o: ConnectionOptions & { name: string; include: number[][]; exclude?: number[][]; description?: string; externalId?: string; cluster?: number; wait?: boolean }) => {
    const client = connect(o);
    const combine = { include: o.include, ...(o.exclude ? { exclude: o.exclude } : {}) };
    const body = { name: o.name, description: o.description, external_id: o.externalId, type: 'COMBINE', cluster_id: o.cluster, combine };
    const r = await client.call<Obj>('POST', '/v1/audiences', body);
    const a = r.audience ?? r;
    await report(client, o, r, a, r.change ?? a.last_change);
  });
}

function registerRead(audience: Command) {
  const get = sub(audience, 'get')
    .description('one audience, with its last change')
    .argument('<id>', 'audience id', positiveInt);
  conn(get).action(async (id: number, o: ConnectionOptions) => {
    const a = await connect(o).call<Obj>('GET', audiencePath(id));
    out(o.json, a, () => describeAudience(a));
  });

  const list = sub(audience, 'list')
    .description("the account's audiences, newest first")
    .addOption(new Option('--status <status>', 'only this status').choices(['PENDING', 'PROCESSING', 'SUCCESS', 'ERROR']))
    .option('--type <type>', 'only this type (CUSTOMER_FILE, COMBINE)')
    .option('--name <text>', 'names containing this')
    .option('--limit <n>', 'at most this many', positiveInt)
    .option('--after <cursor>', "the previous page's next");
  conn(list).action(async (o: ConnectionOptions & { status?: string; type?: string; name?: string; limit?: number; after?: string }) => {
    const r = await connect(o).call<Obj>('GET', '/v1/audiences', undefined, { status: o.status, type: o.type, name: o.name, limit: o.limit, after: o.after });
    out(o.json, r, () => audienceTable(r.items ?? []) + (r.next ? `\nmore: --after ${r.next}` : ''));
  });

  const del = sub(audience, 'delete')
    .description('delete an audience, its versions and their bitmaps')
    .argument('<id>', 'audience id', positiveInt);
  conn(del).action(async (id: number, o: ConnectionOptions) => {
    await connect(o).call('DELETE', audiencePath(id));
    out(o.json, { deleted: id }, () => `audience ${id} deleted`);
  });

  const overlap = sub(audience, 'overlap')
    .description('sizes, intersections and exclusive regions of 2 to 8 audiences')
    .argument('<ids...>', 'audience ids');
  conn(overlap).action(async (ids: string[], o: ConnectionOptions) => {
    const audienceIds = ids.map((s) => {
      if (!/^[1-9]\d*$/.test(s)) throw new CliError(`audience ids are positive integers, not ${JSON.stringify(s)}`);
      return Number(s);
    });
    const client = connect(o);
    const r = await client.call<Obj>('POST', '/v1/audiences/overlap', { audience_ids: audienceIds });
    if (o.json) return out(true, r, () => '');
    // Names make the table readable; an audience that cannot be read is shown by id alone.
    const names = new Map<number, string>();
    await Promise.all(audienceIds.map(async (id) => client.call<Obj>('GET', audiencePath(id)).then((a) => names.set(id, a.name), () => undefined)));
    out(false, r, () => describeOverlap(r, names));
  });
}

function registerExport(audience: Command) {
  const exportCmd = sub(audience, 'export')
    .description('export the members as a gzip file of hex ids, one per line')
    .argument('<id>', 'audience id', positiveInt)
    .requiredOption('--id-type <type>', 'id type to export (e.g. phone_md5)')
    .option('--wait', 'wait until the export is SUCCESS or ERROR')
    .option('--output <file>', 'download the file here (implies --wait)');
  conn(exportCmd).action(async (id: number, o: ConnectionOptions & { idType: string; wait?: boolean; output?: string }) => {
    const client = connect(o);
    const r = await client.call<Obj>('POST', `${audiencePath(id)}/exports`, { id_type: o.idType });
    const x = r.export ?? r;
    if (!o.wait && !o.output) return out(o.json, r, () => describeExport(x));
    const mode = progressMode(o.json);
    const label = `export ${x.id} of audience ${id}`;
    const end = await waitFor(client, { label, read: () => client.call<Obj>('GET', `/v1/exports/${encodeURIComponent(String(x.id))}`) }, mode);
    if (end.status === 'ERROR') {
      out(o.json, end, () => describeExport(end));
      throw failed(label, end);
    }
    if (o.output) {
      if (!end.url) throw new CliError(`${label} is SUCCESS but has no download url`);
      await download(client, end.url, o.output, typeof end.bytes === 'number' ? end.bytes : 0, mode);
    }
    out(o.json, end, () => describeExport(end, o.output));
  });
}

/** Streams the export to FILE through FILE.part, so a failed download leaves no truncated FILE behind. */
async function download(client: Client, url: string, file: string, expected: number, mode: ProgressMode) {
  let r: Response;
  try {
    r = await fetch(url, { headers: client.authFor(url) });
  } catch (e) {
    throw unreachable(new URL(url).origin, e, 'the object store');
  }
  if (!r.ok || !r.body) {
    const text = await r.text();
    let json: unknown;
    try {
    json = JSON.parse(text);
  } catch {
    throw storeRefusal(r.status, text);
  }
    throw serviceError(r.status, json, text);
  }
  const total = expected || Number(r.headers.get('content-length')) || 0;
  const progress = total > 0 ? byteProgress(`downloading ${file}`, total, mode) : undefined;
  let done = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
    progress?.update((done += chunk.length));
    cb(null, chunk);
  },
  });
  const part = `${file}.part`;
  try {
    await pipeline(Readable.fromWeb(r.body as import('node:stream/web').ReadableStream), count, createWriteStream(part));
    await rename(part, file);
  } catch (e) {
    await rm(part, { force: true });
    throw new CliError(`download of ${url} to ${file} failed: ${(e as Error).message}`);
  }
  progress?.finish();
}

export function registerJobs(program: Command) {
  const jobs = sub(program, 'jobs')
    .description("the account's jobs (audience changes, exports, callbacks), or one of them")
    .argument('[id]', 'one job')
    .addOption(new Option('--status <status>', 'only this status').choices(['queued', 'running', 'done', 'failed']))
    .option('--kind <kind>', 'only this kind')
    .option('--limit <n>', 'at most this many', positiveInt)
    .option('--after <cursor>', "the previous page's next");
  conn(jobs).action(async (id: string | undefined, o: ConnectionOptions & { status?: string; kind?: string; limit?: number; after?: string }) => {
    const client = connect(o);
    if (id) {
      const j = await client.call<Obj>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
      return out(o.json, j, () => describeJob(j));
    }
    const r = await client.call<Obj>('GET', '/v1/jobs', undefined, { status: o.status, kind: o.kind, limit: o.limit, after: o.after });
    out(o.json, r, () => jobTable(r.items ?? []) + (r.next ? `\nmore: --after ${r.next}` : ''));
  });
}

export function registerAudience(program: Command) {
  const audience = program.command('audience').description('audiences on a running service (docs/audiences.md)');
  registerCreate(audience);
  registerChanges(audience);
  registerCombine(audience);
  registerRead(audience);
  registerExport(audience);
}

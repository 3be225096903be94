// Human-readable renderings of the native API's JSON for the client commands.
// Only fields the contract (docs/audiences.md) names are read, and every one
// is optional here: a field the service does not send is left out, never
// printed as "undefined".
import { formatBytes } from './progress.js';

type Obj = Record<string, any>;

const count = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : n === null || n === undefined ? '-' : String(n));

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: unknown[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : typeof c === 'number' ? count(c) : String(c))))];
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

/** `{ code, message }` or a plain string, as one line. */
export function errorText(e: unknown): string {
  if (!e) return '';
  if (typeof e === 'string') return e;
  const x = e as Obj;
  return x.code ? `${x.code}: ${x.message ?? ''}` : (x.message ?? JSON.stringify(e));
}

/**
 * A job's `progress`, whatever it holds: a fraction or a percentage, or an
 * object whose well-known keys are worded (`stage`, `file`/`files`, `bytes`,
 * `done`/`total`) and whose other plain values follow as key=value.
 */
export function progressText(p: unknown): string {
  if (p === null || p === undefined) return '';
  if (typeof p === 'number') return `${(p <= 1 ? p * 100 : p).toFixed(0)}%`;
  if (typeof p !== 'object') return String(p);
  const o = { ...(p as Obj) };
  const take = (k: string) => {
    const v = o[k];
    delete o[k];
    return v;
  };
  const parts: string[] = [];
  const stage = take('stage') ?? take('phase');
  if (typeof stage === 'string') parts.push(stage);
  const file = take('file');
  const files = take('files');
  if (typeof file === 'number' && typeof files === 'number') parts.push(`file ${file}/${files}`);
  const bytes = take('bytes');
  if (typeof bytes === 'number') parts.push(formatBytes(bytes));
  const done = take('done');
  const total = take('total');
  if (typeof done === 'number' && typeof total === 'number' && total > 0) parts.push(`${count(done)}/${count(total)} (${((done / total) * 100).toFixed(0)}%)`);
  else if (typeof done === 'number') parts.push(count(done));
  const pct = take('percent');
  if (typeof pct === 'number') parts.push(`${pct.toFixed(0)}%`);
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined && typeof v !== 'object') parts.push(`${k}=${v}`);
  return parts.join(' ');
}

export function changeSummary(c: Obj, withError = true): string {
  const bits = [`change ${c.id}`, c.operation ? `(${c.operation})` : '', c.status ?? ''];
  if (c.version !== undefined && c.version !== null) bits.push(`-> version ${c.version}`);
  if (c.error && withError) bits.push(`- ${errorText(c.error)}`);
  return bits.filter(Boolean).join(' ');
}

export function describeChange(c: Obj): string {
  const lines = [changeSummary(c)];
  if (c.job_id !== undefined && c.job_id !== null) lines.push(`  job      ${c.job_id}`);
  if (c.created_at) lines.push(`  created  ${c.created_at}`);
  if (c.finished_at ?? c.completed_at) lines.push(`  finished ${c.finished_at ?? c.completed_at}`);
  const reports: Obj[] = Array.isArray(c.reports) ? c.reports : [];
  for (const r of reports) {
    const rep: Obj = r.report ?? {};
    const num = (label: string, ...keys: string[]) => {
      const v = keys.map((k) => rep[k]).find((x) => typeof x === 'number');
      return v === undefined ? [] : [`${label} ${count(v)}`];
    };
    const nums = [
      ...num('lines', 'lines'),
      ...num('valid', 'valid_lines', 'validLines'),
      ...num('invalid', 'invalid_lines', 'invalidLines'),
      ...num('users', 'user_count', 'userCount'),
      ...num('duplicates', 'duplicates'),
    ];
    const which = r.upload_id ?? r.uploadId ?? 'inline ids';
    lines.push(`  file     ${which} ${r.status ?? ''}${nums.length ? `: ${nums.join(', ')}` : ''}${r.error ? ` - ${errorText(r.error)}` : ''}`);
  }
  return lines.join('\n');
}

export function describeAudience(a: Obj): string {
  const lines = [`audience ${a.id} ${a.name ?? ''}`.trimEnd()];
  const row = (k: string, v: unknown) => v !== undefined && v !== null && v !== '' && lines.push(`  ${k.padEnd(11)} ${v}`);
  row('status', a.status);
  row('type', a.type);
  row('size', a.size === undefined ? undefined : count(a.size));
  row('version', a.version);
  row('cluster', a.cluster_id);
  row('external id', a.external_id);
  row('description', a.description);
  row('error', a.error ? errorText(a.error) : undefined);
  row('created', a.created_at);
  row('updated', a.updated_at);
  // The audience's own error row already says why its first change failed.
  if (a.last_change) lines.push(`  last ${changeSummary(a.last_change, !a.error)}`);
  return lines.join('\n');
}

export function audienceTable(items: Obj[]): string {
  if (!items.length) return 'no audiences';
  return table(
    ['ID', 'NAME', 'TYPE', 'STATUS', 'SIZE', 'VERSION', 'UPDATED'],
    items.map((a) => [a.id, a.name, a.type, a.status, a.size, a.version, a.updated_at ?? a.created_at]),
  );
}

const subset = (ids: unknown) => (Array.isArray(ids) ? ids.join(' & ') : String(ids));

/** Sizes, then members in all of each subset (intersections), then members in exactly each subset (regions). */
export function describeOverlap(o: Obj, names: Map<number, string> = new Map()): string {
  const audiences: Obj[] = o.audiences ?? [];
  const out = [table(['AUDIENCE', 'NAME', 'SIZE'], audiences.map((a) => [a.id, names.get(Number(a.id)) ?? '', a.size]))];
  const pct = (n: number, of: number) => (of <= 0 ? '-' : n > 0 && n / of < 0.001 ? '<0.1%' : `${((n / of) * 100).toFixed(1)}%`);
  const sizes = new Map(audiences.map((a) => [Number(a.id), Number(a.size)]));
  const inter: Obj[] = (o.intersections ?? []).filter((x: Obj) => Array.isArray(x.audience_ids) && x.audience_ids.length > 1);
  if (inter.length) {
    out.push('', 'intersections (members in all of them)');
    out.push(
      table(
        ['AUDIENCES', 'COUNT', 'OF SMALLEST'],
        inter.map((x) => [subset(x.audience_ids), x.count, pct(x.count, Math.min(...x.audience_ids.map((id: number) => sizes.get(Number(id)) ?? 0)))]),
      ),
    );
  }
  const regions: Obj[] = o.regions ?? [];
  if (regions.length) {
    const union = regions.reduce((s, r) => s + (Number(r.count) || 0), 0);
    out.push('', `regions (members in exactly these and no other; ${count(union)} in all)`);
    out.push(table(['AUDIENCES', 'COUNT', 'OF ALL'], regions.map((r) => [(r.audience_ids?.length === 1 ? 'only ' : '') + subset(r.audience_ids), r.count, pct(r.count, union)])));
  }
  return out.join('\n');
}

export function describeExport(x: Obj, output?: string): string {
  const lines = [`export ${x.id} ${x.status ?? ''}`.trimEnd()];
  const row = (k: string, v: unknown) => v !== undefined && v !== null && v !== '' && lines.push(`  ${k.padEnd(8)} ${v}`);
  row('audience', x.audience_id);
  row('id type', x.id_type);
  row('lines', x.lines === undefined ? undefined : count(x.lines));
  row('bytes', typeof x.bytes === 'number' ? `${formatBytes(x.bytes)} (${x.bytes} bytes)` : x.bytes);
  row('error', x.error ? errorText(x.error) : undefined);
  row('file', output);
  if (!output) row('url', x.url);
  return lines.join('\n');
}

export function jobTable(items: Obj[]): string {
  if (!items.length) return 'no jobs';
  return table(
    ['ID', 'KIND', 'STATUS', 'ATTEMPTS', 'SUBJECT', 'PROGRESS', 'LAST ERROR'],
    items.map((j) => [j.id, j.kind, j.status, `${j.attempts ?? 0}/${j.max_attempts ?? '?'}`, j.subject, progressText(j.progress), j.last_error ? errorText(j.last_error) : '']),
  );
}

export function describeJob(j: Obj): string {
  const lines = [`job ${j.id} ${j.kind ?? ''} ${j.status ?? ''}`.trimEnd()];
  const row = (k: string, v: unknown) => v !== undefined && v !== null && v !== '' && lines.push(`  ${k.padEnd(10)} ${v}`);
  row('subject', j.subject);
  row('attempts', j.attempts === undefined ? undefined : `${j.attempts}/${j.max_attempts ?? '?'}`);
  row('progress', progressText(j.progress));
  row('run at', j.run_at);
  row('lease', j.lease_until);
  row('heartbeat', j.heartbeat_at);
  row('last error', j.last_error ? errorText(j.last_error) : undefined);
  return lines.join('\n');
}

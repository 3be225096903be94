// Audiences, their changes and versions, as the domain hands them out (and
// the row shapes they come from). See docs/audiences.md for the model.
import type { Selectable } from 'kysely';
import type { AudienceChangesTable, AudienceExportsTable, AudiencesTable, AudienceVersionsTable } from '../../infra/db/schema.js';
import type { IngestReport } from '../ingest/ingest-file.js';
import type { RuleSpec, RuleType } from '../rules/types.js';

/** Rule audiences are built from behaviour data by a rule (docs/behaviour-data.md). */
export const RULE_TYPES: readonly RuleType[] = ['USER_ACTION', 'KEYWORD', 'AD', 'LBS'];
export type AudienceType = 'CUSTOMER_FILE' | 'COMBINE' | RuleType;
export const AUDIENCE_TYPES: readonly AudienceType[] = ['CUSTOMER_FILE', 'COMBINE', ...RULE_TYPES];
export const isRuleType = (t: string): t is RuleType => (RULE_TYPES as readonly string[]).includes(t);
export type AudienceStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'ERROR';
/** `refresh`: a rule audience computed again (on its schedule or on demand). */
export type ChangeOperation = 'create' | 'append' | 'remove' | 'replace' | 'combine' | 'refresh';
export type ChangeStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'ERROR';

/** How a CSV file names its id column. */
export interface CsvSpec {
  column: string | number;
  header?: boolean | 'auto';
  delimiter?: ',' | '\t' | ';';
}

/**
 * One file of a change: an upload of the account; inline ids kept as a
 * staging object; or a staged file, one the service received or produced
 * itself (a multipart part, a table's column) and keeps as a staging object
 * until the change finishes.
 */
export type FileInput =
  | { kind: 'upload'; uploadId: string; idType: string; csv?: CsvSpec; detectHint?: string[] }
  | { kind: 'inline'; objectKey: string; idType: string; count: number }
  | { kind: 'staged'; objectKey: string; idType: string; bytes: number; name?: string; csv?: CsvSpec; detectHint?: string[] };

/** Inputs whose object the change owns: deleted when the change finishes or the audience goes. */
export const ownsObject = (f: FileInput): f is Extract<FileInput, { kind: 'inline' | 'staged' }> => f.kind !== 'upload';

/** include: AND of ORs; exclude: AND of ORs, subtracted. Audience ids. */
export interface CombineSpec {
  include: number[][];
  exclude: number[][];
}

/** A rule change runs the rule it holds: the audience's rule when the change was asked for. */
export type ChangeInputs = { files: FileInput[] } | { combine: CombineSpec } | { rule: RuleSpec };

export interface FileReport {
  /** Position of the file in the change's inputs. */
  index: number;
  uploadId: string | null;
  idType: string;
  status: 'SUCCESS' | 'ERROR';
  error: { code: string; message: string; field?: string } | null;
  report: IngestReport | null;
}

export interface AudienceError {
  code: string;
  message: string;
  field?: string;
}

export interface Change {
  id: number;
  audienceId: number;
  operation: ChangeOperation;
  inputs: ChangeInputs;
  status: ChangeStatus;
  error: AudienceError | null;
  reports: FileReport[];
  version: number | null;
  size: number | null;
  jobId: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Audience {
  id: number;
  accountId: string;
  clusterId: number;
  name: string;
  description: string | null;
  externalId: string | null;
  type: AudienceType;
  combine: CombineSpec | null;
  /** The rule of a rule audience. */
  rule: RuleSpec | null;
  /** How often a rule audience is computed again; null: only on demand. */
  refreshEveryMs: number | null;
  /** When the next scheduled refresh is due. */
  nextRefreshAt: string | null;
  status: AudienceStatus;
  error: AudienceError | null;
  version: number;
  size: number | null;
  bitmapKey: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Version {
  audienceId: number;
  version: number;
  clusterId: number;
  bitmapKey: string;
  size: number;
  changeId: number;
  createdAt: string;
  retiredAt: string | null;
}

export type ExportStatus = 'PENDING' | 'PROCESSING' | 'SUCCESS' | 'ERROR';

export interface AudienceExport {
  id: string;
  audienceId: number;
  version: number;
  clusterId: number;
  idType: string;
  status: ExportStatus;
  error: AudienceError | null;
  objectKey: string;
  lines: number | null;
  bytes: number | null;
  jobId: number | null;
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const errorOf = (code: string | null, message: string | null): AudienceError | null => (code ? { code, message: message ?? '' } : null);

export function toAudience(r: Selectable<AudiencesTable>): Audience {
  const spec = r.spec ? (JSON.parse(r.spec) as { combine?: CombineSpec; rule?: RuleSpec }) : {};
  return {
    id: Number(r.id),
    accountId: r.account_id,
    clusterId: Number(r.cluster_id),
    name: r.name,
    description: r.description,
    externalId: r.external_id,
    type: r.type as AudienceType,
    combine: spec.combine ?? null,
    rule: spec.rule ?? null,
    refreshEveryMs: r.refresh_every_ms === null ? null : Number(r.refresh_every_ms),
    nextRefreshAt: iso(r.next_refresh_at),
    status: r.status as AudienceStatus,
    error: errorOf(r.error_code, r.error_message),
    version: Number(r.version),
    size: r.size === null ? null : Number(r.size),
    bitmapKey: r.bitmap_key,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export function toChange(r: Selectable<AudienceChangesTable>): Change {
  return {
    id: Number(r.id),
    audienceId: Number(r.audience_id),
    operation: r.operation as ChangeOperation,
    inputs: JSON.parse(r.inputs) as ChangeInputs,
    status: r.status as ChangeStatus,
    error: errorOf(r.error_code, r.error_message),
    reports: r.reports ? (JSON.parse(r.reports) as FileReport[]) : [],
    version: r.version === null ? null : Number(r.version),
    size: r.size === null ? null : Number(r.size),
    jobId: r.job_id === null ? null : Number(r.job_id),
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

export function toVersion(r: AudienceVersionsTable): Version {
  return {
    audienceId: Number(r.audience_id),
    version: Number(r.version),
    clusterId: Number(r.cluster_id),
    bitmapKey: r.bitmap_key,
    size: Number(r.size),
    changeId: Number(r.change_id),
    createdAt: iso(r.created_at)!,
    retiredAt: iso(r.retired_at),
  };
}

export function toExport(r: AudienceExportsTable): AudienceExport {
  return {
    id: r.id,
    audienceId: Number(r.audience_id),
    version: Number(r.version),
    clusterId: Number(r.cluster_id),
    idType: r.id_type,
    status: r.status as ExportStatus,
    error: errorOf(r.error_code, r.error_message),
    objectKey: r.object_key,
    lines: r.lines === null ? null : Number(r.lines),
    bytes: r.bytes === null ? null : Number(r.bytes),
    jobId: r.job_id === null ? null : Number(r.job_id),
    createdAt: iso(r.created_at)!,
    finishedAt: iso(r.finished_at),
    expiresAt: iso(r.expires_at)!,
  };
}

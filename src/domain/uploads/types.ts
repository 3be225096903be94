import type { Db } from '../../infra/db/index.js';
import type { UploadsTable } from '../../infra/db/schema.js';
import type { UploadPurpose } from './purpose.js';

export type UploadStatus = 'PENDING' | 'UPLOADING' | 'READY' | 'FAILED' | 'EXPIRED' | 'DELETED';
export type Dialect = 'native' | 'mintegral' | 'tencent-cloud' | 'aliyun-ice';

export interface Upload {
  id: string;
  accountId: string;
  keyId: string | null;
  clusterId: number;
  dialect: Dialect;
  fileName: string;
  declaredMd5: string | null;
  declaredSize: number | null;
  md5: string | null;
  size: number | null;
  format: 'text' | 'gzip' | 'parquet' | null;
  /** What the file is for: an audience's ids or events to load (purpose.ts). */
  purpose: UploadPurpose;
  status: UploadStatus;
  /** True while a credential is outstanding and no file has been accepted under it. */
  acceptsWrites: boolean;
  storageKey: string;
  dataPath: string;
  resourceUrl: string | null;
  mediaId: string | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown>;
  expiresAt: string;
  objectExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

export type UploadEvent = 'completed' | 'failed';
/** Runs inside the transaction that records the event; `tx` is that transaction. */
export type UploadListener = (upload: Upload, event: UploadEvent, tx: Db) => Promise<void>;

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toUpload(r: UploadsTable): Upload {
  return {
    id: r.id,
    accountId: r.account_id,
    keyId: r.key_id ?? null,
    clusterId: Number(r.cluster_id),
    dialect: r.dialect as Dialect,
    fileName: r.file_name,
    declaredMd5: r.declared_md5,
    declaredSize: r.declared_size === null ? null : Number(r.declared_size),
    md5: r.md5,
    size: r.size === null ? null : Number(r.size),
    format: r.content_type as Upload['format'],
    purpose: r.purpose as UploadPurpose,
    status: r.status as UploadStatus,
    acceptsWrites: Number(r.write_open) === 1,
    storageKey: r.storage_key,
    dataPath: r.data_path,
    resourceUrl: r.resource_url,
    mediaId: r.media_id,
    error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
    metadata: r.metadata ? JSON.parse(r.metadata) : {},
    expiresAt: iso(r.expires_at)!,
    objectExpiresAt: iso(r.object_expires_at),
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
    completedAt: iso(r.completed_at),
  };
}

// Native JSON shapes (snake_case, like the vendors' wire formats).
import type { CallbackDelivery } from '../../domain/uploads/callbacks.js';
import type { Upload } from '../../domain/uploads/types.js';

export function presentUpload(u: Upload) {
  return {
    id: u.id,
    account_id: u.accountId,
    cluster_id: u.clusterId,
    dialect: u.dialect,
    file_name: u.fileName,
    status: u.status,
    accepts_writes: u.acceptsWrites,
    declared_md5: u.declaredMd5,
    declared_size: u.declaredSize,
    md5: u.md5,
    size: u.size,
    format: u.format,
    storage_key: u.storageKey,
    data_path: u.dataPath,
    resource_url: u.resourceUrl,
    media_id: u.mediaId,
    error: u.error,
    expires_at: u.expiresAt,
    object_expires_at: u.objectExpiresAt,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    completed_at: u.completedAt,
  };
}

export function presentDelivery(d: CallbackDelivery) {
  return {
    id: d.id,
    event: d.event,
    url: d.url,
    attempt: d.attempt,
    status: d.status,
    response_status: d.responseStatus,
    error: d.error,
    created_at: d.createdAt,
  };
}

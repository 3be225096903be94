// Finding an account's upload by the data_path it was handed out with (the
// Mintegral audience calls name their files this way). The row is found
// here; the record is then read through UploadService.get, which brings an
// upload on a remote store up to date, so a READY check sees the truth.
import type { Db } from '../../infra/db/index.js';
import type { UploadService } from './service.js';
import type { Upload } from './types.js';

/** The account's upload with this data_path, or undefined (also when it was deleted). */
export async function uploadByDataPath(db: Db, uploads: UploadService, accountId: string, dataPath: string): Promise<Upload | undefined> {
  const r = await db
    .selectFrom('uploads')
    .select('id')
    .where('account_id', '=', accountId)
    .where('data_path', '=', dataPath)
    .where('status', '!=', 'DELETED')
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!r) return undefined;
  return uploads.get(accountId, r.id).catch((e: unknown) => {
    if ((e as { code?: string }).code === 'UploadNotFound') return undefined;
    throw e;
  });
}

// The record of every callback attempt made for an upload (one row per POST),
// so that a client can see what was sent, when, and what its receiver answered.
import type { Db } from '../../infra/db/index.js';
import type { UploadEvent } from './types.js';

export type DeliveryStatus = 'delivered' | 'failed';

export interface CallbackDelivery {
  id: number;
  uploadId: string;
  event: string;
  url: string;
  attempt: number;
  status: DeliveryStatus;
  /** The receiver's HTTP status; null when no response came (refused, timed out). */
  responseStatus: number | null;
  error: string | null;
  createdAt: string;
}

export interface DeliveryAttempt {
  uploadId: string;
  event: UploadEvent;
  url: string;
  attempt: number;
  status: DeliveryStatus;
  responseStatus?: number;
  error?: string;
}

export class CallbackDeliveries {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async record(a: DeliveryAttempt): Promise<void> {
    await this.db
      .insertInto('callback_deliveries')
      .values({
        upload_id: a.uploadId,
        event: a.event,
        url: a.url,
        attempt: a.attempt,
        status: a.status,
        response_status: a.responseStatus ?? null,
        error: a.error ?? null,
        created_at: this.now(),
      })
      .execute();
  }

  /** Oldest first, as they happened. */
  async list(uploadId: string): Promise<CallbackDelivery[]> {
    const rows = await this.db.selectFrom('callback_deliveries').selectAll().where('upload_id', '=', uploadId).orderBy('id').execute();
    return rows.map((r) => ({
      id: Number(r.id),
      uploadId: r.upload_id,
      event: r.event,
      url: r.url,
      attempt: Number(r.attempt),
      status: r.status as DeliveryStatus,
      responseStatus: r.response_status === null ? null : Number(r.response_status),
      error: r.error,
      createdAt: new Date(Number(r.created_at)).toISOString(),
    }));
  }
}

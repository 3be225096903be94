// The callback an ICE upload's UserData.MessageCallback.CallbackURL receives,
// shaped like ICE's FileUploadComplete event (IMS event list:
// https://www.alibabacloud.com/help/en/ims/user-guide/event-list-2):
//   {"EventType":"FileUploadComplete","UserId":…,"EventTime":"yyyy-MM-ddTHH:mm:ssZ",
//    "MessageBody":{"Status":"Success"|"Fail","MediaId","AppId","FileUrl","Size" (string),
//                   "MediaType":"text","UserData" (Extend as a JSON string), …}}
// ICE itself sends no failure event; we do, with Status "Fail" and the
// refusal's ErrorCode/ErrorMessage, because a refused audience file is final
// news a client wants. MD5 is ours too. The body is built here, when the event
// happens, and delivered (signed, retried) by the job runner.
import type { Config } from '../../../../config.js';
import type { Upload, UploadEvent } from '../../../../domain/uploads/types.js';
import type { UploadCallbackPayload } from '../../../../worker/catalog.js';
import { iceTime } from './media-info.js';
import { bucketOf, objectUrl } from './upload-auth.js';

interface CallbackMeta {
  UserData?: { MessageCallback?: { CallbackURL?: string }; Extend?: unknown };
  AppId?: string;
}

function eventBody(u: Upload, ev: UploadEvent, meta: CallbackMeta, config: Config, at: number): string {
  const extend = meta.UserData?.Extend;
  const ok = ev === 'completed';
  return JSON.stringify({
    EventType: 'FileUploadComplete',
    UserId: Number(u.accountId),
    EventTime: iceTime(new Date(at).toISOString()),
    MessageBody: {
      Status: ok ? 'Success' : 'Fail',
      MediaId: u.mediaId,
      AppId: meta.AppId,
      FileUrl: objectUrl(config.publicUrl, bucketOf(u), u.storageKey),
      Size: ok && u.size !== null ? String(u.size) : undefined,
      MD5: ok ? (u.md5 ?? undefined) : undefined,
      MediaType: 'text',
      UserData: extend === undefined ? undefined : typeof extend === 'string' ? extend : JSON.stringify(extend),
      ErrorCode: ok ? undefined : u.error?.code,
      ErrorMessage: ok ? undefined : u.error?.message,
    },
  });
}

/** The callback job for this event, or undefined when the upload asked for none. */
export function iceUploadCallback(u: Upload, ev: UploadEvent, config: Config, at: number): UploadCallbackPayload | undefined {
  if (u.dialect !== 'aliyun-ice') return undefined;
  const meta = u.metadata as CallbackMeta;
  const url = meta.UserData?.MessageCallback?.CallbackURL;
  // Signed with the secret of the key the upload was issued to.
  if (!url || !u.keyId) return undefined;
  return { uploadId: u.id, event: ev, url, keyId: u.keyId, body: eventBody(u, ev, meta, config, at) };
}

// An upload presented as ICE's MediaInfo (data types of the media asset
// library: https://www.alibabacloud.com/help/en/ims/developer-reference/data-type-3).
//
// Status mapping, domain → ICE (MediaBasicInfo.Status and FileBasicInfo.FileStatus):
//   PENDING → Init (credential issued, nothing received)
//   UPLOADING → Uploading
//   READY → Normal
//   FAILED → UploadFail (ErrorCode/ErrorMessage say why; the credential may still retry)
//   EXPIRED → Expired (credential unused past its life, or the object's TTL passed)
// ErrorCode, ErrorMessage, Md5 and MessageCallbackDeliveries are ours, not the vendor's.
import type { CallbackDelivery } from '../../../../domain/uploads/callbacks.js';
import type { Upload, UploadStatus } from '../../../../domain/uploads/types.js';

const STATUS: Record<UploadStatus, string> = {
  PENDING: 'Init',
  UPLOADING: 'Uploading',
  READY: 'Normal',
  FAILED: 'UploadFail',
  EXPIRED: 'Expired',
  DELETED: 'Deleted',
};

export const iceStatus = (s: UploadStatus): string => STATUS[s];

/** yyyy-MM-ddTHH:mm:ssZ, as ICE writes times. */
export const iceTime = (iso: string | null): string | undefined => (iso ? iso.replace(/\.\d{3}Z$/, 'Z') : undefined);

type Meta = Record<string, Record<string, unknown> | undefined>;

function basicInfo(u: Upload, inputUrl: string) {
  const m = u.metadata as Meta;
  const md = m.MediaMetaData ?? {};
  return {
    MediaId: u.mediaId,
    InputURL: inputUrl,
    MediaType: 'text',
    BusinessType: md.BusinessType ?? 'general',
    Source: 'oss',
    Title: md.Title ?? u.fileName,
    Description: md.Description,
    MediaTags: md.Tags,
    CoverURL: md.CoverURL,
    CateId: md.CateId,
    UserData: m.UserData ? JSON.stringify(m.UserData) : undefined,
    Status: iceStatus(u.status),
    ErrorCode: u.status === 'FAILED' ? u.error?.code : undefined,
    ErrorMessage: u.status === 'FAILED' ? u.error?.message : undefined,
    CreateTime: iceTime(u.createdAt),
    ModifiedTime: iceTime(u.updatedAt),
    AppId: (u.metadata.AppId as string | undefined) ?? undefined,
  };
}

function fileBasicInfo(u: Upload, fileUrl: string, region: string) {
  return {
    FileName: u.fileName,
    FileStatus: iceStatus(u.status),
    FileType: 'source_file',
    FileSize: u.size === null ? undefined : String(u.size),
    FileUrl: fileUrl,
    Region: region,
    FormatName: u.format ?? undefined,
    Md5: u.md5 ?? undefined,
    CreateTime: iceTime(u.createdAt),
    ModifiedTime: iceTime(u.completedAt ?? u.updatedAt),
  };
}

function presentDelivery(d: CallbackDelivery) {
  return {
    Event: d.event,
    CallbackURL: d.url,
    Attempt: d.attempt,
    Status: d.status === 'delivered' ? 'Success' : 'Fail',
    ResponseStatus: d.responseStatus ?? undefined,
    Error: d.error ?? undefined,
    CreateTime: iceTime(d.createdAt),
  };
}

export function mediaInfo(u: Upload, urls: { inputUrl: string; fileUrl: string; region: string }, deliveries: CallbackDelivery[]) {
  return {
    MediaId: u.mediaId,
    MediaBasicInfo: basicInfo(u, urls.inputUrl),
    FileInfoList: [{ FileBasicInfo: fileBasicInfo(u, urls.fileUrl, urls.region) }],
    MessageCallbackDeliveries: deliveries.length ? deliveries.map(presentDelivery) : undefined,
  };
}

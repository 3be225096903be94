// Row types of the metadata store, shared by every backend through Kysely.
// Timestamps are integer milliseconds since the epoch (portable across SQLite
// and PostgreSQL and cheap to compare); JSON columns are text.
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  name: string;
  status: string;
  created_at: number;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  /** AES-256-GCM ciphertext of the secret under the master key (signatures need the secret itself). */
  secret_enc: string;
  /** SHA-256 hex of the secret, so that a bearer token made of the secret alone can be looked up. */
  secret_hash: string;
  status: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AccessTokensTable {
  /** SHA-256 hex of the token; the token itself is shown once. */
  token_hash: string;
  kind: 'access' | 'refresh';
  account_id: string;
  key_id: string;
  expires_at: number;
  created_at: number;
  revoked_at: number | null;
}

export interface NoncesTable {
  scope: string;
  nonce: string;
  expires_at: number;
}

export interface UploadsTable {
  id: string;
  account_id: string;
  /** The access key that asked for the credential; revoking it closes the upload. */
  key_id: string | null;
  cluster_id: number;
  dialect: string;
  file_name: string;
  declared_md5: string | null;
  declared_size: number | null;
  md5: string | null;
  size: number | null;
  content_type: string | null;
  /** 'audience' or 'events' (migration 0012): how the content is checked and which reader may take it. */
  purpose: string;
  status: string;
  /** 1 while a credential is outstanding and no file has been accepted under it. */
  write_open: number;
  storage_key: string;
  data_path: string;
  resource_url: string | null;
  media_id: string | null;
  error_code: string | null;
  error_message: string | null;
  metadata: string | null;
  expires_at: number;
  object_expires_at: number | null;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface UploadCredentialsTable {
  access_key_id: string;
  upload_id: string;
  secret_enc: string;
  security_token: string;
  expires_at: number;
  created_at: number;
}

export interface MultipartUploadsTable {
  id: string;
  upload_id: string;
  created_at: number;
}

export interface MultipartPartsTable {
  multipart_id: string;
  part_number: number;
  md5: string;
  size: number;
  created_at: number;
}

export interface CallbackDeliveriesTable {
  id: Generated<number>;
  upload_id: string;
  event: string;
  url: string;
  attempt: number;
  status: string;
  response_status: number | null;
  error: string | null;
  created_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  status: string;
  run_at: number;
  attempts: number;
  max_attempts: number;
  lease_until: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  /** The account the job works for (null: the service's own). */
  account_id: string | null;
  /** What the job works on, e.g. `audience:12`. */
  subject: string | null;
  heartbeat_at: number | null;
  /** JSON: what the running attempt last reported (stage, bytes, lines). */
  progress: string | null;
}

export interface AudiencesTable {
  id: Generated<number>;
  account_id: string;
  cluster_id: number;
  name: string;
  description: string | null;
  external_id: string | null;
  type: string;
  /** JSON: the type's definition (COMBINE: include/exclude; a rule audience: its rule). */
  spec: string | null;
  /** A rule audience's refresh period; null: on demand only. */
  refresh_every_ms: number | null;
  /** When the next scheduled refresh is due (ms); null: none scheduled. */
  next_refresh_at: number | null;
  status: string;
  error_code: string | null;
  error_message: string | null;
  /** The current version; 0 before the first. */
  version: number;
  size: number | null;
  bitmap_key: string | null;
  created_at: number;
  updated_at: number;
}

export interface AudienceChangesTable {
  id: Generated<number>;
  audience_id: number;
  account_id: string;
  operation: string;
  /** JSON: ChangeInput[]. */
  inputs: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  /** JSON: one processing report per input file. */
  reports: string | null;
  version: number | null;
  size: number | null;
  job_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface AudienceVersionsTable {
  audience_id: number;
  version: number;
  cluster_id: number;
  bitmap_key: string;
  size: number;
  change_id: number;
  created_at: number;
  retired_at: number | null;
}

export interface AudienceExportsTable {
  id: string;
  account_id: string;
  audience_id: number;
  version: number;
  cluster_id: number;
  id_type: string;
  status: string;
  error_code: string | null;
  error_message: string | null;
  object_key: string;
  lines: number | null;
  bytes: number | null;
  job_id: number | null;
  created_at: number;
  finished_at: number | null;
  expires_at: number;
}

export interface ObjectTrashTable {
  id: Generated<number>;
  cluster_id: number;
  object_key: string;
  delete_after: number | null;
  reason: string;
  created_at: number;
}

/** The PostgreSQL identity dictionary (pg-dictionary.ts); unused on SQLite. */
export interface IdentityKeysTable {
  /** Id type name ([a-z0-9_]). */
  type: string;
  /** The normalized key's digest bytes: 16 (MD5) or 32 (SHA-256). */
  key: Uint8Array;
  /** Dense uint32 user id, set once when the key is added. */
  user_id: number;
}

/** The Mintegral dialect's facts about an audience it created (migration 0006). */
export interface MintegralAudiencesTable {
  audience_id: number;
  account_id: string;
  /** 1 Android, 2 iOS, 3 mixed. */
  platform: number;
  /** Comma-separated device_type numbers of the current files, e.g. "2,8". */
  device_types: string;
  created_at: number;
  updated_at: number;
}

/** A PAI audience group: the PAI fields of an audience created through the PAI dialect. */
export interface PaiGroupsTable {
  audience_id: number;
  account_id: string;
  /** 0 text, 1 text file, 2 CSV file (3 table and 4 algorithm are refused today). */
  source: number;
  /** 1 when the group holds phone numbers. */
  phone_number: number;
  remark: string | null;
  /** JSON: the other fields as given (Text masked, Uri, Column, Project, Table, Filter, Algorithm, InferenceJobId). */
  fields: string;
}

/** Calls per account, UTC month (YYYY-MM), API (e.g. pai.CreateGroup) and outcome (ok, failed). */
export interface UsageCountersTable {
  account_id: string;
  month: string;
  api: string;
  outcome: string;
  calls: number;
  updated_at: number;
}

/** A file added to an audience through Tencent's custom_audience_files/add; its state is its change's. */
export interface AdsAudienceFilesTable {
  id: Generated<number>;
  audience_id: number;
  account_id: string;
  change_id: number;
  /** As the client gave it (HASH_MOBILE_PHONE, IMEI, …). */
  user_id_type: string;
  /** APPEND or REDUCE. */
  operation_type: string;
  open_app_id: string | null;
  /** The multipart file's name, or the data_path / ResourceUrl it was read from. */
  file_name: string;
  /** Bytes received (a zip's size, not its contents'). */
  size: number;
  created_at: number;
}

/** An audience shared read-only with another account. */
export interface AudienceGrantsTable {
  audience_id: number;
  owner_account_id: string;
  grantee_account_id: string;
  created_at: number;
}

/** A source of user actions (Tencent's user_action_sets). */
export interface UserActionSetsTable {
  id: Generated<number>;
  account_id: string;
  /** Unique per account. */
  name: string;
  /** WEB, ANDROID, IOS, OFFLINE, WECHAT, WECHAT_MINI_PROGRAM, WECHAT_MINI_GAME or HARMONY. */
  type: string;
  description: string | null;
  mobile_app_id: number | null;
  wechat_app_id: string | null;
  app_id_str: string | null;
  created_at: number;
}

/** A bulk load of events from an uploaded file, worked by an events-load job. */
export interface EventLoadsTable {
  id: Generated<number>;
  account_id: string;
  /** user_actions, ad_events or location_pings. */
  kind: string;
  upload_id: string;
  /** csv, ndjson or parquet. */
  format: string;
  action_set_id: number | null;
  /** PENDING, PROCESSING, SUCCESS or ERROR. */
  status: string;
  error_code: string | null;
  error_message: string | null;
  /** JSON: the load's report (counts, samples, timings). */
  report: string | null;
  job_id: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  access_tokens: AccessTokensTable;
  nonces: NoncesTable;
  uploads: UploadsTable;
  upload_credentials: UploadCredentialsTable;
  multipart_uploads: MultipartUploadsTable;
  multipart_parts: MultipartPartsTable;
  callback_deliveries: CallbackDeliveriesTable;
  jobs: JobsTable;
  audiences: AudiencesTable;
  audience_changes: AudienceChangesTable;
  audience_versions: AudienceVersionsTable;
  audience_exports: AudienceExportsTable;
  object_trash: ObjectTrashTable;
  identity_keys: IdentityKeysTable;
  mintegral_audiences: MintegralAudiencesTable;
  pai_groups: PaiGroupsTable;
  usage_counters: UsageCountersTable;
  ads_audience_files: AdsAudienceFilesTable;
  audience_grants: AudienceGrantsTable;
  user_action_sets: UserActionSetsTable;
  event_loads: EventLoadsTable;
}

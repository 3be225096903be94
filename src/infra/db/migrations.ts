// Numbered, fixed-width migrations, written with Kysely's schema builder so the
// same list runs on SQLite and PostgreSQL. Append only; never edit one that
// has shipped.
import { type Kysely, type Migration, sql } from 'kysely';

const ms = 'bigint';

export const migrations: Record<string, Migration> = {
  '0001_accounts_and_keys': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('secret_enc', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('revoked_at', ms)
        .addColumn('last_used_at', ms)
        .execute();
      await db.schema.createIndex('api_keys_account').on('api_keys').column('account_id').execute();
      await db.schema
        .createTable('access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('revoked_at', ms)
        .execute();
      await db.schema
        .createTable('nonces')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('nonces_pk', ['scope', 'nonce'])
        .execute();
      await db.schema.createIndex('nonces_expiry').on('nonces').column('expires_at').execute();
    },
  },
  '0002_uploads': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('key_id', 'text')
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('dialect', 'text', (c) => c.notNull())
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('declared_md5', 'text')
        .addColumn('declared_size', ms)
        .addColumn('md5', 'text')
        .addColumn('size', ms)
        .addColumn('content_type', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('write_open', 'integer', (c) => c.notNull())
        .addColumn('storage_key', 'text', (c) => c.notNull())
        .addColumn('data_path', 'text', (c) => c.notNull())
        .addColumn('resource_url', 'text')
        .addColumn('media_id', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('metadata', 'text')
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('object_expires_at', ms)
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .addColumn('completed_at', ms)
        .execute();
      await db.schema.createIndex('uploads_key').on('uploads').columns(['cluster_id', 'storage_key']).unique().execute();
      await db.schema.createIndex('uploads_account').on('uploads').columns(['account_id', 'created_at']).execute();
      await db.schema.createIndex('uploads_media').on('uploads').column('media_id').execute();
      await db.schema
        .createTable('upload_credentials')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
        .addColumn('secret_enc', 'text', (c) => c.notNull())
        .addColumn('security_token', 'text', (c) => c.notNull())
        .addColumn('expires_at', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('multipart_uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('multipart_parts')
        .addColumn('multipart_id', 'text', (c) => c.notNull().references('multipart_uploads.id').onDelete('cascade'))
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('md5', 'text', (c) => c.notNull())
        .addColumn('size', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('multipart_parts_pk', ['multipart_id', 'part_number'])
        .execute();
    },
  },
  '0003_jobs_and_callbacks': {
    async up(db: Kysely<any>) {
      const serial = db.getExecutor().adapter.constructor.name.includes('Postgres');
      await db.schema
        .createTable('jobs')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('run_at', ms, (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('lease_until', ms)
        .addColumn('last_error', 'text')
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute();
      await db.schema
        .createTable('callback_deliveries')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('upload_id', 'text', (c) => c.notNull().references('uploads.id').onDelete('cascade'))
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('error', 'text')
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('callback_deliveries_upload').on('callback_deliveries').column('upload_id').execute();
      void sql;
    },
  },
  '0004_audiences': {
    async up(db: Kysely<any>) {
      const serial = db.getExecutor().adapter.constructor.name.includes('Postgres');
      await db.schema
        .createTable('audiences')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('external_id', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('spec', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('size', ms)
        .addColumn('bitmap_key', 'text')
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audiences_name').on('audiences').columns(['account_id', 'name']).unique().execute();
      await db.schema.createIndex('audiences_external').on('audiences').columns(['account_id', 'external_id']).unique().execute();
      await db.schema
        .createTable('audience_changes')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('audience_id', ms, (c) => c.notNull().references('audiences.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('inputs', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('reports', 'text')
        .addColumn('version', 'integer')
        .addColumn('size', ms)
        .addColumn('job_id', ms)
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('started_at', ms)
        .addColumn('finished_at', ms)
        .execute();
      await db.schema.createIndex('audience_changes_audience').on('audience_changes').columns(['audience_id', 'id']).execute();
      await db.schema
        .createTable('audience_versions')
        .addColumn('audience_id', ms, (c) => c.notNull().references('audiences.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('bitmap_key', 'text', (c) => c.notNull())
        .addColumn('size', ms, (c) => c.notNull())
        .addColumn('change_id', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('retired_at', ms)
        .addPrimaryKeyConstraint('audience_versions_pk', ['audience_id', 'version'])
        .execute();
      await db.schema
        .createTable('audience_exports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('audience_id', ms, (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('id_type', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('object_key', 'text', (c) => c.notNull())
        .addColumn('lines', ms)
        .addColumn('bytes', ms)
        .addColumn('job_id', ms)
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('finished_at', ms)
        .addColumn('expires_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audience_exports_account').on('audience_exports').columns(['account_id', 'created_at']).execute();
      // Objects to delete once delete_after has passed (null: held by a change
      // in progress). A row is written before an object that may end up
      // unreferenced is put, and in the same transaction that stops
      // referencing one, so no crash leaves an object nobody will delete.
      await db.schema
        .createTable('object_trash')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('object_key', 'text', (c) => c.notNull())
        .addColumn('delete_after', ms)
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('object_trash_key').on('object_trash').columns(['cluster_id', 'object_key']).unique().execute();
      await db.schema.createIndex('object_trash_due').on('object_trash').column('delete_after').execute();
      await db.schema.alterTable('jobs').addColumn('account_id', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('subject', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('heartbeat_at', ms).execute();
      await db.schema.alterTable('jobs').addColumn('progress', 'text').execute();
      await db.schema.createIndex('jobs_account').on('jobs').columns(['account_id', 'id']).execute();
    },
  },
  // The identity dictionary of the PostgreSQL scale mode (pg-dictionary.ts):
  // one row per (id type, key) naming its user. Keys are raw digest bytes
  // (16 or 32), so the key's length tells the widths of one type apart. The
  // (type, user_id) index serves exports of an audience's keys. User ids come
  // from one sequence over the uint32 range below NO_USER (0xFFFFFFFF). On
  // SQLite the table is created (one schema for both) but left unused: the
  // embedded mode keeps its dictionary in its own files.
  '0005_identity_keys': {
    async up(db: Kysely<any>) {
      const postgres = db.getExecutor().adapter.constructor.name.includes('Postgres');
      await db.schema
        .createTable('identity_keys')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('key', postgres ? 'bytea' : 'blob', (c) => c.notNull())
        .addColumn('user_id', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('identity_keys_pk', ['type', 'key'])
        .execute();
      await db.schema.createIndex('identity_keys_user').on('identity_keys').columns(['type', 'user_id']).execute();
      if (postgres) await sql`CREATE SEQUENCE identity_users AS bigint MINVALUE 0 MAXVALUE 4294967294 START WITH 0`.execute(db);
    },
  },
  // What the Mintegral dialect keeps about an audience it created that the
  // audience model has no place for: the delivery `platform` (1 Android,
  // 2 iOS, 3 mixed) and the device_type numbers of its current files, as
  // Mintegral's list answers them. One row per audience, gone with it.
  '0006_mintegral_audiences': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mintegral_audiences')
        .addColumn('audience_id', ms, (c) => c.primaryKey().references('audiences.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('platform', 'integer', (c) => c.notNull())
        .addColumn('device_types', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mintegral_audiences_platform').on('mintegral_audiences').columns(['account_id', 'platform']).execute();
    },
  },
  // PAI audience groups (src/http/dialects/pai) and per-account usage
  // metering (src/domain/usage). A group is an audience plus the fields PAI
  // knows it by that the audience has no place for; the row goes with its
  // audience (cascade), so a group deleted through the native API is gone
  // from PAI too. Usage is one counter row per account, month, API and
  // outcome, incremented in place.
  '0007_pai_usage': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('pai_groups')
        .addColumn('audience_id', ms, (c) => c.primaryKey().references('audiences.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('source', 'integer', (c) => c.notNull())
        .addColumn('phone_number', 'integer', (c) => c.notNull())
        .addColumn('remark', 'text')
        .addColumn('fields', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pai_groups_account').on('pai_groups').columns(['account_id', 'audience_id']).execute();
      await db.schema
        .createTable('usage_counters')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('month', 'text', (c) => c.notNull())
        .addColumn('api', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('calls', ms, (c) => c.notNull())
        .addColumn('updated_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_counters_pk', ['account_id', 'month', 'api', 'outcome'])
        .execute();
    },
  },
  // Tencent's custom_audience_files: one row per file added to an audience,
  // naming the change that reads it (whose status and report the file's
  // process_status and counts are). Gone with the audience.
  '0008_ads_audience_files': {
    async up(db: Kysely<any>) {
      const serial = db.getExecutor().adapter.constructor.name.includes('Postgres');
      await db.schema
        .createTable('ads_audience_files')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('audience_id', ms, (c) => c.notNull().references('audiences.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('change_id', ms, (c) => c.notNull())
        .addColumn('user_id_type', 'text', (c) => c.notNull())
        .addColumn('operation_type', 'text', (c) => c.notNull())
        .addColumn('open_app_id', 'text')
        .addColumn('file_name', 'text', (c) => c.notNull())
        .addColumn('size', ms, (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ads_audience_files_audience').on('ads_audience_files').columns(['account_id', 'audience_id', 'id']).execute();
    },
  },
  // Audiences shared read-only with other accounts (Tencent's
  // audience_grant_relations, the native API's grants): the grantee may use
  // the audience as an input of its own COMBINE. Gone with the audience.
  '0009_audience_grants': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audience_grants')
        .addColumn('audience_id', ms, (c) => c.notNull().references('audiences.id').onDelete('cascade'))
        .addColumn('owner_account_id', 'text', (c) => c.notNull())
        .addColumn('grantee_account_id', 'text', (c) => c.notNull())
        .addColumn('created_at', ms, (c) => c.notNull())
        .addPrimaryKeyConstraint('audience_grants_pk', ['audience_id', 'grantee_account_id'])
        .execute();
      await db.schema.createIndex('audience_grants_grantee').on('audience_grants').columns(['grantee_account_id', 'audience_id']).execute();
    },
  },
  // Behaviour data (docs/behaviour-data.md). User action sets are Tencent's
  // user_action_sets: the sources an account's actions belong to, named
  // uniquely per account; the app ids are what the vendor asks of each type
  // (mobile_app_id for ANDROID and IOS, wechat_app_id for the WeChat types,
  // app_id_str for HARMONY). Event loads are the bulk loads from uploaded
  // files, worked by events-load jobs; the report is kept as JSON. The
  // events themselves live in the event store, not here.
  '0010_user_action_sets': {
    async up(db: Kysely<any>) {
      const serial = db.getExecutor().adapter.constructor.name.includes('Postgres');
      await db.schema
        .createTable('user_action_sets')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('mobile_app_id', 'bigint')
        .addColumn('wechat_app_id', 'text')
        .addColumn('app_id_str', 'text')
        .addColumn('created_at', ms, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('user_action_sets_name').on('user_action_sets').columns(['account_id', 'name']).unique().execute();
      await db.schema
        .createTable('event_loads')
        .addColumn('id', serial ? 'bigserial' : 'integer', (c) => (serial ? c.primaryKey() : c.primaryKey().autoIncrement()))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('action_set_id', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('report', 'text')
        .addColumn('job_id', ms)
        .addColumn('created_at', ms, (c) => c.notNull())
        .addColumn('started_at', ms)
        .addColumn('finished_at', ms)
        .execute();
      await db.schema.createIndex('event_loads_account').on('event_loads').columns(['account_id', 'id']).execute();
    },
  },
  // Rule audiences (USER_ACTION, KEYWORD, AD, LBS) keep their rule in
  // audiences.spec and are computed again on a schedule: the period and the
  // next due time sit on the audience, indexed for the scheduler's scan.
  '0011_rule_refresh': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('audiences').addColumn('refresh_every_ms', ms).execute();
      await db.schema.alterTable('audiences').addColumn('next_refresh_at', ms).execute();
      await db.schema.createIndex('audiences_next_refresh').on('audiences').column('next_refresh_at').execute();
    },
  },
  // An upload's purpose: an audience file (as every upload made before this
  // migration was) or an event file for a load, checked as its name's
  // format says (Parquet is binary) and readable by a load only.
  '0012_upload_purpose': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('uploads').addColumn('purpose', 'text', (c) => c.notNull().defaultTo('audience')).execute();
    },
  },
};

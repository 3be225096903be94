// /v1/audiences, /v1/exports, /v1/jobs: the native API over the audience
// domain (docs/audiences.md). Routes parse and present; every rule is in
// src/domain/audiences.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Selectable } from 'kysely';
import type { Grant, SharedAudience } from '../../domain/audiences/grants.js';
import type { IdRanges } from '../../domain/audiences/ids.js';
import type { FileEstimate } from '../../domain/audiences/reading.js';
import type { CreateAudienceRequest, FileRequest, IdsRequest } from '../../domain/audiences/service.js';
import type { Audience, AudienceExport, Change, CombineSpec, FileInput, FileReport, Version } from '../../domain/audiences/types.js';
import { ID_TYPES, ID_TYPE_NAMES } from '../../domain/identities/index.js';
import { err } from '../../errors.js';
import type { JobsTable } from '../../infra/db/schema.js';
import type { App } from '../../app.js';
import type { RuleSpec, RuleType } from '../../domain/rules/types.js';
import { isRuleType, AUDIENCE_TYPES } from '../../domain/audiences/types.js';
import { validateRuleSpec } from '../dialects/tencent-ads/audience-rules.js';
import { runRule } from '../../domain/audiences/build.js';
import { checkRuleSources } from '../rule-sources.js';
import { authenticateBearer } from './auth.js';

const security = [{ bearer: [] }];
const JSON_LIMIT = 16 << 20;
const MEMBERS_LIMIT = 96 << 20;

const Csv = Type.Object(
  {
    column: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Integer({ minimum: 0, maximum: 1000 })]),
    header: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('auto')])),
    delimiter: Type.Optional(Type.Union([Type.Literal(','), Type.Literal(';'), Type.Literal('\t')])),
  },
  { additionalProperties: false },
);
const File = Type.Object(
  {
    upload_id: Type.String({ minLength: 1, maxLength: 64 }),
    id_type: Type.String({ minLength: 1, maxLength: 64, description: 'an id type (GET /v1/id-types), or "detect" to type each line by its shape' }),
    csv: Type.Optional(Csv),
    detect_hint: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 20, description: 'with "detect": the families or id types the file may hold' })),
  },
  { additionalProperties: false },
);
const Ids = Type.Object(
  { id_type: Type.String({ minLength: 1, maxLength: 64 }), values: Type.Array(Type.String({ maxLength: 1024 }), { minItems: 1 }) },
  { additionalProperties: false },
);
const Combine = Type.Object(
  { include: Type.Array(Type.Array(Type.Integer())), exclude: Type.Optional(Type.Array(Type.Array(Type.Integer()))) },
  { additionalProperties: false },
);
const Params = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const AudienceTypeSchema = Type.Union(AUDIENCE_TYPES.map((t) => Type.Literal(t)));
const Rule = Type.Object(
  {},
  { additionalProperties: true, description: 'the rule of a USER_ACTION, KEYWORD, AD or LBS audience: { "<type>_spec": … } exactly as the audience_spec of Tencent custom_audiences/add (docs/behaviour-data.md)' },
);
const RefreshHours = Type.Union([Type.Integer({ minimum: 1, maximum: 8784 }), Type.Null()], { description: 'hours between scheduled refreshes of a rule audience; null: on demand only' });
const hoursToMs = (h: number | null) => (h === null ? null : h * 3_600_000);

/** A rule as a create and a preview take it: checked as Tencent's audience_spec is, its action set the account's. */
async function checkedRule(app: App, accountId: string, type: RuleType, raw: object | undefined): Promise<RuleSpec> {
  const rule = validateRuleSpec(type, raw ?? {}, app.now());
  await checkRuleSources(app, accountId, rule, 'rule.user_action_spec.user_action_set_id');
  return rule;
}

const files = (f: Static<typeof File>[] | undefined): FileRequest[] | undefined =>
  f?.map((x) => ({ uploadId: x.upload_id, idType: x.id_type, ...(x.csv ? { csv: x.csv } : {}), ...(x.detect_hint ? { detectHint: x.detect_hint } : {}) }));
const combine = (c: Static<typeof Combine> | undefined): CombineSpec | undefined => c && { include: c.include, exclude: c.exclude ?? [] };
const ids = (i: Static<typeof Ids> | undefined): IdsRequest | undefined => (i ? { idType: i.id_type, values: i.values } : undefined);

export function presentAudience(a: Audience, lastChange?: Change | null) {
  return {
    id: a.id,
    name: a.name,
    description: a.description,
    external_id: a.externalId,
    type: a.type,
    cluster_id: a.clusterId,
    status: a.status,
    error: a.error,
    size: a.size,
    version: a.version,
    combine: a.combine,
    ...(a.rule ? { rule: presentRule(a.rule), refresh_every_hours: a.refreshEveryMs === null ? null : a.refreshEveryMs / 3_600_000, next_refresh_at: a.nextRefreshAt } : {}),
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    ...(lastChange !== undefined ? { last_change: lastChange && presentChange(lastChange) } : {}),
  };
}

function presentReport(r: FileReport) {
  const rep = r.report;
  return {
    index: r.index,
    upload_id: r.uploadId,
    id_type: r.idType,
    status: r.status,
    error: r.error,
    report: rep && {
      format: rep.format,
      bytes: rep.bytes,
      content_bytes: rep.contentBytes,
      lines: rep.lines,
      blank_lines: rep.blankLines,
      valid_lines: rep.validLines,
      invalid_lines: rep.invalidLines,
      samples: rep.samples,
      header: rep.header,
      user_count: rep.userCount,
      duplicates: rep.duplicates,
      matched: rep.matched,
      new_ids: rep.newIds,
      unmatched: rep.unmatched,
      conflicts: rep.conflicts,
      timings_ms: rep.timings,
    },
  };
}

function presentInput(f: FileInput) {
  if (f.kind === 'upload') return { upload_id: f.uploadId, id_type: f.idType, ...(f.csv ? { csv: f.csv } : {}) };
  if (f.kind === 'inline') return { inline_ids: f.count, id_type: f.idType };
  return { staged_file: f.name ?? null, bytes: f.bytes, id_type: f.idType, ...(f.csv ? { csv: f.csv } : {}) };
}

/** A rule as the API takes it: `{ <type>_spec: … }`. */
function presentRule(r: RuleSpec) {
  const { type: _type, ...spec } = r;
  return spec;
}

export function presentChange(c: Change) {
  const inputs = 'combine' in c.inputs ? { combine: c.inputs.combine } : 'rule' in c.inputs ? { rule: presentRule(c.inputs.rule) } : { files: c.inputs.files.map(presentInput) };
  return {
    id: c.id,
    audience_id: c.audienceId,
    operation: c.operation,
    inputs,
    status: c.status,
    error: c.error,
    version: c.version,
    size: c.size,
    job_id: c.jobId,
    reports: c.reports.map(presentReport),
    created_at: c.createdAt,
    started_at: c.startedAt,
    finished_at: c.finishedAt,
  };
}

function presentVersion(v: Version) {
  return { version: v.version, size: v.size, change_id: v.changeId, created_at: v.createdAt, retired_at: v.retiredAt };
}

function presentExport(e: AudienceExport & { url?: string | null }) {
  return {
    id: e.id,
    audience_id: e.audienceId,
    version: e.version,
    id_type: e.idType,
    status: e.status,
    error: e.error,
    lines: e.lines,
    bytes: e.bytes,
    job_id: e.jobId,
    url: e.url ?? null,
    created_at: e.createdAt,
    finished_at: e.finishedAt,
    expires_at: e.expiresAt,
  };
}

export function presentJob(j: Selectable<JobsTable>) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return {
    id: Number(j.id),
    kind: j.kind,
    subject: j.subject,
    status: j.status,
    attempts: Number(j.attempts),
    max_attempts: Number(j.max_attempts),
    run_at: iso(j.run_at),
    lease_until: iso(j.lease_until),
    heartbeat_at: iso(j.heartbeat_at),
    progress: j.progress ? JSON.parse(j.progress) : null,
    last_error: j.last_error,
    created_at: iso(j.created_at),
    updated_at: iso(j.updated_at),
  };
}

export const audienceRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));
  // Membership batches may come as text, one id per line (the members route
  // reads them as bytes, below).
  f.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: MEMBERS_LIMIT }, (_req, body, done) => done(null, body));
  const tags = ['audiences'];

  f.post(
    '/audiences',
    {
      bodyLimit: JSON_LIMIT,
      schema: {
        tags,
        security,
        summary: 'Create an audience from uploads, inline ids, other audiences (COMBINE) or a rule over behaviour data (USER_ACTION, KEYWORD, AD, LBS)',
        description: 'Answers 201 with the audience and its first change (worked by a job), or 200 with the audience an earlier call with the same external_id made.',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            description: Type.Optional(Type.String({ maxLength: 2000 })),
            external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            type: Type.Optional(AudienceTypeSchema),
            cluster_id: Type.Optional(Type.Integer({ minimum: 1 })),
            files: Type.Optional(Type.Array(File, { maxItems: 100 })),
            ids: Type.Optional(Ids),
            combine: Type.Optional(Combine),
            rule: Type.Optional(Rule),
            refresh_every_hours: Type.Optional(RefreshHours),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const input: CreateAudienceRequest = {
        name: b.name,
        description: b.description,
        externalId: b.external_id,
        type: b.type,
        clusterId: b.cluster_id,
        files: files(b.files),
        ids: ids(b.ids),
        combine: combine(b.combine),
      };
      if (b.type !== undefined && isRuleType(b.type)) {
        input.rule = await checkedRule(f.app, req.accountId!, b.type, b.rule);
        if (b.refresh_every_hours !== undefined) input.refreshEveryMs = hoursToMs(b.refresh_every_hours);
      } else if (b.rule !== undefined || b.refresh_every_hours !== undefined) {
        throw err('InvalidParameter', 'rule and refresh_every_hours are for the rule types USER_ACTION, KEYWORD, AD and LBS', b.rule !== undefined ? 'rule' : 'refresh_every_hours');
      }
      const r = await f.app.audiences.create(req.accountId!, input);
      return reply.status(r.existing ? 200 : 201).send(presentAudience(r.audience, r.change));
    },
  );

  f.get(
    '/audiences',
    {
      schema: {
        tags,
        security,
        summary: "List the account's audiences, newest first",
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['PENDING', 'PROCESSING', 'SUCCESS', 'ERROR'].map((s) => Type.Literal(s)))),
          type: Type.Optional(AudienceTypeSchema),
          name: Type.Optional(Type.String({ maxLength: 200 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          after: Type.Optional(Type.String({ maxLength: 32 })),
        }),
      },
    },
    async (req) => {
      const page = await f.app.audiences.list(req.accountId!, req.query);
      return { items: page.items.map((a) => presentAudience(a)), next: page.next };
    },
  );

  f.get('/audiences/:id', { schema: { tags, security, summary: 'One audience, with its last change', params: Params } }, async (req) => {
    const a = await f.app.audiences.get(req.accountId!, req.params.id);
    return presentAudience(a, await f.app.audiences.lastChange(a.id));
  });

  f.patch(
    '/audiences/:id',
    {
      schema: {
        tags,
        security,
        summary: "Rename an audience, change its description, or set a rule audience's refresh period",
        params: Params,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
            refresh_every_hours: Type.Optional(RefreshHours),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { refresh_every_hours: hours, ...patch } = req.body;
      return presentAudience(await f.app.audiences.update(req.accountId!, req.params.id, { ...patch, ...(hours !== undefined ? { refreshEveryMs: hoursToMs(hours) } : {}) }));
    },
  );

  f.delete('/audiences/:id', { schema: { tags, security, summary: 'Delete an audience, its versions and their bitmaps', params: Params } }, async (req, reply) => {
    await f.app.audiences.delete(req.accountId!, req.params.id);
    return reply.status(204).send();
  });

  f.post(
    '/audiences/:id/changes',
    {
      bodyLimit: JSON_LIMIT,
      schema: {
        tags,
        security,
        summary: 'Append, remove or replace files (CUSTOMER_FILE), recompute with a new definition (COMBINE), or run the rule again (refresh, rule audiences)',
        params: Params,
        body: Type.Object(
          {
            operation: Type.Union([Type.Literal('append'), Type.Literal('remove'), Type.Literal('replace'), Type.Literal('combine'), Type.Literal('refresh')]),
            files: Type.Optional(Type.Array(File, { maxItems: 100 })),
            ids: Type.Optional(Ids),
            combine: Type.Optional(Combine),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const change = await f.app.audiences.change(req.accountId!, req.params.id, {
        operation: b.operation,
        files: files(b.files),
        ids: ids(b.ids),
        combine: combine(b.combine),
      });
      return reply.status(202).send(presentChange(change));
    },
  );

  f.get('/audiences/:id/changes', { schema: { tags, security, summary: "An audience's changes, newest first", params: Params } }, async (req) => ({
    items: (await f.app.audiences.changes(req.accountId!, req.params.id)).map(presentChange),
  }));

  f.get(
    '/audiences/:id/changes/:changeId',
    { schema: { tags, security, summary: 'One change, with its processing reports', params: Type.Object({ id: Type.Integer({ minimum: 1 }), changeId: Type.Integer({ minimum: 1 }) }) } },
    async (req) => presentChange(await f.app.audiences.getChange(req.accountId!, req.params.id, req.params.changeId)),
  );

  f.get('/audiences/:id/versions', { schema: { tags, security, summary: 'Every version of an audience, newest first', params: Params } }, async (req) => ({
    items: (await f.app.audiences.versions(req.accountId!, req.params.id)).map(presentVersion),
  }));

  f.post(
    '/audiences/overlap',
    {
      schema: {
        tags,
        security,
        summary: 'Sizes, intersection counts and exclusive regions of 2 to 8 audiences',
        body: Type.Object({ audience_ids: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 2, maxItems: 8 }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const r = await f.app.reader.overlap(req.accountId!, req.body.audience_ids);
      return {
        audiences: r.audiences,
        intersections: r.intersections.map((x) => ({ audience_ids: x.audienceIds, count: x.count })),
        regions: r.regions.map((x) => ({ audience_ids: x.audienceIds, count: x.count })),
      };
    },
  );

  f.post(
    '/audiences/lookup',
    {
      schema: {
        tags,
        security,
        summary: 'Which audiences contain this id',
        body: Type.Object(
          { id_type: Type.String({ minLength: 1 }), id: Type.String({ minLength: 1, maxLength: 1024 }), audience_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 1000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const r = await f.app.reader.lookup(req.accountId!, req.body.id_type, req.body.id, req.body.audience_ids);
      return { audience_ids: r.audienceIds, known: r.known };
    },
  );

  await f.register(membersRoute);
  await f.register(grantRoutes);
  await f.register(estimateRoute);

  f.post(
    '/audiences/:id/exports',
    {
      schema: {
        tags,
        security,
        summary: 'Export a version (the current one unless given) as a gzip file of hashed ids of one type',
        params: Params,
        body: Type.Object({ id_type: Type.String({ minLength: 1 }), version: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => reply.status(202).send(presentExport(await f.app.exports.create(req.accountId!, req.params.id, req.body.id_type, req.body.version))),
  );

  f.get('/exports/:id', { schema: { tags, security, summary: 'An export; its download link once SUCCESS', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req) =>
    presentExport(await f.app.exports.get(req.accountId!, req.params.id)),
  );

  f.get(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        security,
        summary: "The account's jobs, newest first",
        querystring: Type.Object({
          status: Type.Optional(Type.Union(['queued', 'running', 'done', 'failed'].map((s) => Type.Literal(s)))),
          kind: Type.Optional(Type.String({ maxLength: 64 })),
          subject: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          after: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
      },
    },
    async (req) => {
      const page = await f.app.jobs.list(req.accountId!, req.query);
      return { items: page.items.map(presentJob), next: page.next };
    },
  );

  f.get('/jobs/:id', { schema: { tags: ['jobs'], security, summary: 'One job', params: Params } }, async (req) => {
    const j = await f.app.jobs.get(req.params.id);
    if (!j || j.account_id !== req.accountId) throw err('JobNotFound', `job ${req.params.id} does not exist in this account`, 'id');
    return presentJob(j);
  });

  f.get('/id-types', { schema: { tags: ['audiences'], security, summary: 'Every id type, with its family and rule' } }, async () => ({
    items: ID_TYPE_NAMES.map((n) => {
      const e = ID_TYPES[n];
      return { name: e.name, family: e.family, kind: e.kind, description: e.label, exportable: e.kind === 'hashed' };
    }),
  }));
};

const presentGrant = (g: Grant) => ({ account_id: g.granteeAccountId, created_at: g.createdAt });

const presentShared = (a: SharedAudience) => ({
  id: a.id,
  owner_account_id: a.ownerAccountId,
  name: a.name,
  type: a.type,
  status: a.status,
  size: a.size,
  shared_at: a.sharedAt,
});

/**
 * Sharing: the owner grants an audience to other accounts, read-only
 * (src/domain/audiences/grants.ts); a grantee lists what is shared with it
 * under /shared-audiences, apart from its own audiences, and may name a
 * shared audience as a COMBINE input. Every other route still answers
 * AudienceNotFound to a grantee, as it does for any audience not its own.
 */
const grantRoutes: FastifyPluginAsyncTypebox = async (f) => {
  const tags = ['audiences'];
  const AccountParams = Type.Object({ id: Type.Integer({ minimum: 1 }), account_id: Type.String({ minLength: 1, maxLength: 64 }) });
  f.post(
    '/audiences/:id/grants',
    {
      schema: {
        tags,
        security,
        summary: 'Share an audience, read-only, with other accounts',
        description:
          'Each account may then see the audience (GET /v1/shared-audiences) and use it as a COMBINE input; it cannot change, export, rename or delete it. Granting again what is granted changes nothing. Answers 201 when a grant was added, 200 when every one existed, with every grant of the audience.',
        params: Params,
        body: Type.Object({ account_ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
      },
    },
    async (req, reply) => {
      const r = await f.app.grants.grant(req.accountId!, req.params.id, req.body.account_ids);
      return reply.status(r.added.length > 0 ? 201 : 200).send({ audience_id: req.params.id, added: r.added, items: r.grants.map(presentGrant) });
    },
  );

  f.get('/audiences/:id/grants', { schema: { tags, security, summary: 'The accounts an audience is shared with, oldest grant first', params: Params } }, async (req) => ({
    audience_id: req.params.id,
    items: (await f.app.grants.ofAudience(req.accountId!, req.params.id)).map(presentGrant),
  }));

  f.delete(
    '/audiences/:id/grants/:account_id',
    {
      schema: {
        tags,
        security,
        summary: 'Stop sharing an audience with an account',
        description: "A COMBINE the account built from it keeps its version; its next recompute ends in ERROR naming the input. 404 NotFound when there was no such grant.",
        params: AccountParams,
      },
    },
    async (req, reply) => {
      await f.app.grants.revoke(req.accountId!, req.params.id, req.params.account_id);
      return reply.status(204).send();
    },
  );

  f.get(
    '/shared-audiences',
    {
      schema: {
        tags,
        security,
        summary: 'Audiences other accounts share with this one, newest audience first',
        querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })), after: Type.Optional(Type.String({ maxLength: 32 })) }),
      },
    },
    async (req) => {
      const page = await f.app.grants.sharedWith(req.accountId!, req.query);
      return { items: page.items.map(presentShared), next: page.next };
    },
  );

  f.get('/shared-audiences/:id', { schema: { tags, security, summary: 'One audience shared with this account', params: Params } }, async (req) =>
    presentShared(await f.app.grants.getShared(req.accountId!, req.params.id)),
  );
};

function presentFileEstimate(e: FileEstimate) {
  return {
    type: 'CUSTOMER_FILE' as const,
    size: e.size,
    known_users: e.knownUsers,
    new_ids: e.newIds,
    new_ids_exact: e.newIdsExact,
    adds_new_ids: e.addsNewIds,
    files: e.files.map((x) => ({
      index: x.index,
      upload_id: x.uploadId,
      id_type: x.idType,
      lines: x.report.lines,
      blank_lines: x.report.blankLines,
      valid_lines: x.report.validLines,
      invalid_lines: x.report.invalidLines,
      samples: x.report.samples,
      header: x.report.header,
      known_users: x.knownUsers,
      unmatched_lines: x.report.unmatched,
    })),
  };
}

/** POST /audiences/estimate: the size an audience would have, with nothing created (src/domain/audiences/reading.ts). */
const estimateRoute: FastifyPluginAsyncTypebox = async (f) => {
  f.post(
    '/audiences/estimate',
    {
      schema: {
        tags: ['audiences'],
        security,
        summary: 'Estimate the size of an audience before creating it',
        description:
          'COMBINE: the exact size the COMBINE would have now, from its inputs (own or shared) at their current versions. USER_ACTION, KEYWORD, AD, LBS: the rule run now over the behaviour data, as the audience\'s first build would run it. CUSTOMER_FILE: the files are read without adding any id to the dictionary; `size` is the distinct users already known plus the distinct new ids (when this account\'s files add users), with each file\'s line counts. Nothing is written.',
        body: Type.Object(
          {
            type: AudienceTypeSchema,
            combine: Type.Optional(Combine),
            cluster_id: Type.Optional(Type.Integer({ minimum: 1 })),
            files: Type.Optional(Type.Array(File, { minItems: 1, maxItems: 100 })),
            rule: Type.Optional(Rule),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const b = req.body;
      if (isRuleType(b.type)) {
        // A preview: the rule run now, as the audience's first build would run it.
        if (b.files || b.combine || b.cluster_id !== undefined) throw err('InvalidParameter', `a ${b.type} estimate takes its rule only`, b.files ? 'files' : b.combine ? 'combine' : 'cluster_id');
        const rule = await checkedRule(f.app, req.accountId!, b.type, b.rule);
        return { type: b.type, size: (await runRule(f.app.eventStore, f.app.config, req.accountId!, rule, f.app.now())).size };
      }
      if (b.rule !== undefined) throw err('InvalidParameter', 'rule is only for the rule types USER_ACTION, KEYWORD, AD and LBS', 'rule');
      if (b.type === 'COMBINE') {
        if (b.files) throw err('InvalidParameter', 'a COMBINE estimate takes combine, not files', 'files');
        if (!b.combine) throw err('MissingParameter', 'a COMBINE estimate needs combine: { include: [[ids…]], exclude: [[ids…]] }', 'combine');
        const r = await f.app.reader.estimateCombine(req.accountId!, combine(b.combine), { clusterId: b.cluster_id });
        return { type: 'COMBINE', size: r.size, cluster_id: r.clusterId, inputs: r.inputs };
      }
      if (b.combine) throw err('InvalidParameter', 'combine is only for type COMBINE', 'combine');
      if (b.cluster_id !== undefined) throw err('InvalidParameter', "cluster_id is only for type COMBINE; a file is read where its upload is", 'cluster_id');
      if (!b.files) throw err('MissingParameter', 'a CUSTOMER_FILE estimate needs files: [{ upload_id, id_type }]', 'files');
      return presentFileEstimate(await f.app.reader.estimateFiles(req.accountId!, files(b.files)!));
    },
  );
};

/**
 * POST /audiences/:id/members, in a context of its own with its own parsers.
 * A text body stays bytes: the lookup splits the lines and decodes hex ids
 * from them without a string per line (src/domain/audiences/ids.ts). The
 * JSON parser reads the usual body, { "id_type": "…", "ids": ["…", …] } with
 * no escapes in the strings, in place (scanMembersJson): a million ids are
 * 35 MB of JSON, and JSON.parse, a string per id and their decoding took more
 * time than the lookup itself. Any other JSON body goes to Fastify's own
 * parser, so what it accepts and how it refuses are unchanged.
 */
const membersRoute: FastifyPluginAsyncTypebox = async (f) => {
  f.removeContentTypeParser('text/plain');
  f.addContentTypeParser('text/plain', { parseAs: 'buffer', bodyLimit: MEMBERS_LIMIT }, (_req, body, done) => done(null, body));
  const json = f.getDefaultJsonParser('error', 'error');
  f.removeContentTypeParser('application/json');
  f.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MEMBERS_LIMIT }, (req, body, done) => {
    const fast = scanMembersJson(body as Buffer);
    if (fast) done(null, fast);
    else json(req, (body as Buffer).toString('utf8'), done);
  });
  const tags = ['audiences'];
  f.post(
    '/audiences/:id/members',
    {
      bodyLimit: MEMBERS_LIMIT,
      schema: {
        tags,
        security,
        summary: 'Which of these ids are in the audience',
        description:
          'JSON `{ "id_type", "ids": [...] }`, or `Content-Type: text/plain` with one id per line and `id_type` in the query. Answers `members`: one character per id, `1` when its user is in the audience.',
        params: Params,
        querystring: Type.Object({ id_type: Type.Optional(Type.String()), version: Type.Optional(Type.Integer({ minimum: 1 })) }),
      },
    },
    async (req) => {
      let idType: string | undefined;
      let list: string[] | IdRanges | Buffer;
      if (Buffer.isBuffer(req.body)) {
        idType = req.query.id_type;
        list = req.body;
      } else if (req.body instanceof MembersJson) {
        idType = req.body.idType;
        list = req.body.ids;
      } else if (typeof req.body === 'string') {
        // A JSON body that is one string is taken as text, as it always was.
        idType = req.query.id_type;
        list = Buffer.from(req.body, 'utf8');
      } else {
        const b = (req.body ?? {}) as { id_type?: unknown; ids?: unknown };
        idType = typeof b.id_type === 'string' ? b.id_type : undefined;
        if (!Array.isArray(b.ids) || b.ids.some((x) => typeof x !== 'string')) throw err('InvalidParameter', 'ids must be a list of strings', 'ids');
        list = b.ids as string[];
      }
      if (!idType) throw err('MissingParameter', 'id_type is required (in the body, or in the query for text/plain)', 'id_type');
      const r = await f.app.reader.members(req.accountId!, req.params.id, idType, list, req.query.version);
      return { version: r.version, count: r.count, members: r.members, invalid_count: r.invalidCount, invalid: r.invalid };
    },
  );
};

/** A members body read in place: the id type, and where each id's bytes are. */
class MembersJson {
  constructor(
    readonly idType: string,
    readonly ids: IdRanges,
  ) {}
}

const isJsonSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isJsonSpace(b[i])) i++;
  return i;
}

/**
 * The end (index of the closing quote) of the JSON string starting at b[i],
 * or -1 when there is none or it holds an escape or a control character
 * (those bodies go to JSON.parse, which decodes or refuses them). Without
 * escapes the bytes between the quotes are the string's UTF-8.
 */
function stringEnd(b: Buffer, i: number): number {
  if (b[i] !== 0x22) return -1;
  for (let j = i + 1; j < b.length; j++) {
    const c = b[j];
    if (c === 0x22) return j;
    if (c < 0x20 || c === 0x5c) return -1;
  }
  return -1;
}

/** `{ "id_type": string, "ids": [string, …] }` (either order, each once, nothing else), or undefined. */
function scanMembersJson(b: Buffer): MembersJson | undefined {
  let i = skipSpace(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = skipSpace(b, i + 1);
  let idType: string | undefined;
  let ids: IdRanges | undefined;
  for (;;) {
    const k = stringEnd(b, i);
    if (k < 0) return undefined;
    const key = b.toString('latin1', i + 1, k);
    i = skipSpace(b, k + 1);
    if (b[i] !== 0x3a) return undefined;
    i = skipSpace(b, i + 1);
    if (key === 'id_type' && idType === undefined) {
      const e = stringEnd(b, i);
      if (e < 0) return undefined;
      idType = b.toString('utf8', i + 1, e);
      i = e + 1;
    } else if (key === 'ids' && ids === undefined) {
      if (b[i] !== 0x5b) return undefined;
      // Room for ids of 32 hex characters; grown when they are shorter.
      let starts = new Uint32Array(Math.ceil(b.length / 35) + 16);
      let ends = new Uint32Array(starts.length);
      let count = 0;
      i = skipSpace(b, i + 1);
      if (b[i] === 0x5d) i++;
      else {
        for (;;) {
          const e = stringEnd(b, i);
          if (e < 0) return undefined;
          if (count === starts.length) {
            const s2 = new Uint32Array(count * 2);
            s2.set(starts);
            const e2 = new Uint32Array(count * 2);
            e2.set(ends);
            starts = s2;
            ends = e2;
          }
          starts[count] = i + 1;
          ends[count++] = e;
          i = skipSpace(b, e + 1);
          if (b[i] === 0x2c) i = skipSpace(b, i + 1);
          else if (b[i] === 0x5d) {
            i++;
            break;
          } else return undefined;
        }
      }
      ids = { bytes: b, starts, ends, count };
    } else return undefined;
    i = skipSpace(b, i);
    if (b[i] === 0x2c) i = skipSpace(b, i + 1);
    else if (b[i] === 0x7d) break;
    else return undefined;
  }
  if (skipSpace(b, i + 1) !== b.length || idType === undefined || ids === undefined) return undefined;
  return new MembersJson(idType, ids);
}

// /v1/user-action-sets and /v1/events: behaviour data through the native API
// (docs/behaviour-data.md). Routes parse and present; the rules are in
// src/domain/events. A batch is checked event by event in the domain, not by
// the route's schema, so one bad event is refused alone and the rest kept.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ActionSet } from '../../domain/events/action-sets.js';
import { ACTION_SET_TYPES, KIND_PATHS, MAX_BATCH_EVENTS } from '../../domain/events/fields.js';
import type { EventLoad } from '../../domain/events/loader.js';
import { authenticateBearer } from './auth.js';

const security = [{ bearer: [] }];
/** 10,000 events with parameters and URLs. */
const BATCH_LIMIT = 64 << 20;
const Kind = Type.Union(Object.keys(KIND_PATHS).map((k) => Type.Literal(k)), { description: 'user-actions, ad-events or location-pings' });

function presentSet(s: ActionSet) {
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    description: s.description,
    mobile_app_id: s.mobileAppId,
    wechat_app_id: s.wechatAppId,
    app_id_str: s.appIdStr,
    created_at: s.createdAt,
  };
}

function presentLoad(l: EventLoad) {
  const r = l.report;
  return {
    id: l.id,
    kind: l.kind,
    upload_id: l.uploadId,
    format: l.format,
    action_set_id: l.actionSetId,
    status: l.status,
    error: l.error,
    job_id: l.jobId,
    report: r && {
      rows: r.rows,
      stored: r.stored,
      duplicates: r.duplicates,
      refused: r.refused,
      samples: r.samples,
      id_fields: r.idFields,
      id_tuples: r.idTuples,
      matched: r.matched,
      new_users: r.newUsers,
      timings_ms: r.timings,
    },
    created_at: l.createdAt,
    started_at: l.startedAt,
    finished_at: l.finishedAt,
  };
}

export const eventRoutes: FastifyPluginAsyncTypebox = async (f) => {
  f.addHook('onRequest', async (req) => authenticateBearer(f.app, req));
  const tags = ['events'];

  f.post(
    '/user-action-sets',
    {
      schema: {
        tags,
        security,
        summary: 'Create a user action set (a source of user actions)',
        description: "Tencent's user_action_sets/add fields: name 1 to 32 bytes, unique in the account; mobile_app_id for ANDROID and IOS; wechat_app_id for the WeChat types; app_id_str for HARMONY.",
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 32 }),
            type: Type.Union(ACTION_SET_TYPES.map((t) => Type.Literal(t))),
            description: Type.Optional(Type.String({ maxLength: 128 })),
            mobile_app_id: Type.Optional(Type.Integer({ minimum: 1 })),
            wechat_app_id: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
            app_id_str: Type.Optional(Type.String({ minLength: 2, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const s = await f.app.actionSets.create(req.accountId!, {
        name: b.name,
        type: b.type,
        description: b.description,
        mobileAppId: b.mobile_app_id,
        wechatAppId: b.wechat_app_id,
        appIdStr: b.app_id_str,
      });
      return reply.status(201).send(presentSet(s));
    },
  );

  f.get(
    '/user-action-sets',
    {
      schema: {
        tags,
        security,
        summary: "The account's user action sets, oldest first",
        querystring: Type.Object({
          id: Type.Optional(Type.Integer({ minimum: 1 })),
          type: Type.Optional(Type.Union(ACTION_SET_TYPES.map((t) => Type.Literal(t)))),
          name: Type.Optional(Type.String({ maxLength: 32 })),
        }),
      },
    },
    async (req) => ({
      items: (await f.app.actionSets.list(req.accountId!, { id: req.query.id, types: req.query.type ? [req.query.type] : undefined, name: req.query.name })).map(presentSet),
    }),
  );

  f.get('/events/stats', { schema: { tags, security, summary: "Stored events of the account, per kind" } }, async (req) => ({ rows: await f.app.events.stats(req.accountId!) }));

  f.get(
    '/events/loads/:id',
    { schema: { tags, security, summary: 'A load of events from a file: its status and report', params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } },
    async (req) => presentLoad(await f.app.events.getLoad(req.accountId!, req.params.id)),
  );

  f.post(
    '/events/:kind',
    {
      bodyLimit: BATCH_LIMIT,
      schema: {
        tags,
        security,
        summary: 'Send a batch of events; malformed ones are refused one by one, the rest stored',
        description: `At most ${MAX_BATCH_EVENTS} events. Answers 200 with the events stored, the indexes of duplicates (an outer_action_id already stored, or earlier in the batch: counted, not stored) and each refused event's index, field and reason. Fields: docs/behaviour-data.md.`,
        params: Type.Object({ kind: Kind }),
        body: Type.Object(
          {
            events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_BATCH_EVENTS }),
            action_set_id: Type.Optional(Type.Integer({ minimum: 1, description: 'user actions: the user action set they belong to' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const kind = KIND_PATHS[req.params.kind];
      const r = await f.app.events.send(req.accountId!, kind, req.body.events, { actionSetId: req.body.action_set_id });
      return { received: r.received, stored: r.stored, duplicates: r.duplicates, refused: r.refused };
    },
  );

  f.post(
    '/events/:kind/loads',
    {
      schema: {
        tags,
        security,
        summary: 'Load the events of an uploaded file (NDJSON, CSV or Parquet), as a job',
        description: 'Answers 202 with the load; GET /v1/events/loads/{id} gives its status and, once finished, its report. A load lands whole or not at all.',
        params: Type.Object({ kind: Kind }),
        body: Type.Object(
          {
            upload_id: Type.String({ minLength: 1, maxLength: 64 }),
            format: Type.Union([Type.Literal('ndjson'), Type.Literal('csv'), Type.Literal('parquet')]),
            action_set_id: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const load = await f.app.events.createLoad(req.accountId!, KIND_PATHS[req.params.kind], { uploadId: req.body.upload_id, format: req.body.format, actionSetId: req.body.action_set_id });
      return reply.status(202).send(presentLoad(load));
    },
  );
};

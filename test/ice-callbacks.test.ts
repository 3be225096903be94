// UserData.MessageCallback.CallbackURL: a signed POST shaped like ICE's
// FileUploadComplete event when the upload completes or is refused, retried
// with backoff until the receiver says 2xx, every attempt visible through
// GET /v1/uploads/:id/callbacks and GetMediaInfo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { startHarness, type Harness } from './support/harness.js';
import { call, fileInfo, hexLines, ossFrom, receiver, rpc, type Received } from './support/ice.js';
import { startJobs } from '../src/worker/handlers.js';
import type { JobRunner } from '../src/worker/jobs.js';

let h: Harness;
let runner: JobRunner;
before(async () => {
  h = await startHarness({
    patch: (c) => {
      c.ice.callbackBaseDelayMs = 50;
      c.ice.callbackMaxAttempts = 3;
      // The receivers in these tests listen on loopback.
      c.ice.callbackAllowPrivateAddresses = true;
    },
  });
  runner = startJobs(h.app, { pollMs: 20 });
});
after(async () => {
  await runner.stop();
  await h.close();
});

/** What a receiver does: recompute the HMAC over the raw body with the key's secret, and check the time. */
function verify(r: Received, secret: string): boolean {
  const ts = String(r.headers['x-audiencehub-timestamp']);
  const got = Buffer.from(String(r.headers['x-audiencehub-signature']), 'hex');
  const want = createHmac('sha256', secret).update(`${ts}.${r.body}`).digest();
  return got.length === want.length && timingSafeEqual(got, want) && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

async function createWithCallback(url: string) {
  const UserData = JSON.stringify({ MessageCallback: { CallbackURL: url }, Extend: { localId: 'l-42' } });
  const res = await call(rpc(h), 'CreateUploadMedia', { FileInfo: fileInfo(), UserData });
  const upload = await h.app.uploads.getByMediaId(h.account.id, res.MediaId);
  return { res, upload, ...ossFrom(res) };
}

interface DeliveryRow {
  attempt: number;
  status: string;
  response_status: number | null;
  error: string | null;
  event: string;
  url: string;
}

/** The native API's view, polled until it holds `n` attempts (each is recorded just after its POST). */
async function deliveries(uploadId: string, n: number): Promise<DeliveryRow[]> {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${h.url}/v1/uploads/${uploadId}/callbacks`, { headers: { authorization: `Bearer ${h.account.secret}` } });
    assert.equal(res.status, 200);
    const { items } = (await res.json()) as { items: DeliveryRow[] };
    if (items.length >= n) return items;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`fewer than ${n} deliveries were recorded`);
}

test('a completed upload POSTs a signed FileUploadComplete with Status Success', { timeout: 20_000 }, async (t) => {
  const rcv = await receiver();
  t.after(rcv.close);
  const { res, upload, oss, address } = await createWithCallback(rcv.url);
  const body = hexLines(3000);
  await oss.put(address.FileName, body);
  const got = await rcv.next();
  assert.ok(verify(got, h.account.secret), 'the signature verifies with the secret of the key that created the upload');
  assert.ok(!verify({ ...got, body: got.body.replace('Success', 'Fail') }, h.account.secret), 'a changed body does not');
  assert.equal(got.headers['x-audiencehub-key-id'], h.account.accessKeyId);
  assert.match(String(got.headers['content-type']), /^application\/json/);
  const event = JSON.parse(got.body);
  assert.equal(event.EventType, 'FileUploadComplete');
  assert.equal(event.UserId, Number(h.account.id));
  assert.match(event.EventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(event.MessageBody, {
    Status: 'Success',
    MediaId: res.MediaId,
    AppId: 'app-1000000',
    FileUrl: res.FileURL,
    Size: String(body.length),
    MD5: createHash('md5').update(body).digest('hex'),
    MediaType: 'text',
    UserData: '{"localId":"l-42"}',
  });
  const [row] = await deliveries(upload.id, 1);
  assert.deepEqual({ ...row, created_at: undefined, id: undefined }, {
    id: undefined,
    created_at: undefined,
    event: 'completed',
    url: rcv.url,
    attempt: 1,
    status: 'delivered',
    response_status: 200,
    error: null,
  });
});

test('a refused file POSTs Status Fail with the reason', { timeout: 20_000 }, async (t) => {
  const rcv = await receiver();
  t.after(rcv.close);
  const { res, upload, oss, address } = await createWithCallback(rcv.url);
  await assert.rejects(oss.put(address.FileName, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])));
  const got = await rcv.next();
  assert.ok(verify(got, h.account.secret));
  const body = JSON.parse(got.body).MessageBody;
  assert.equal(body.Status, 'Fail');
  assert.equal(body.MediaId, res.MediaId);
  assert.equal(body.ErrorCode, 'NotAudienceFile');
  assert.match(body.ErrorMessage, /binary/);
  assert.equal(body.Size, undefined);
  const [row] = await deliveries(upload.id, 1);
  assert.equal(row.event, 'failed');
});

test('a receiver answering 500 twice then 200 gets three attempts, all visible', { timeout: 20_000 }, async (t) => {
  const rcv = await receiver([500, 500, 200]);
  t.after(rcv.close);
  const { res, upload, oss, address } = await createWithCallback(rcv.url);
  await oss.put(address.FileName, hexLines(1000));
  const attempts = [await rcv.next(), await rcv.next(), await rcv.next()];
  // The same event each time: same body, same event id; each attempt signed afresh.
  assert.equal(new Set(attempts.map((a) => a.body)).size, 1);
  assert.equal(new Set(attempts.map((a) => a.headers['x-audiencehub-event-id'])).size, 1);
  assert.ok(attempts.every((a) => verify(a, h.account.secret)));
  const rows = await deliveries(upload.id, 3);
  assert.deepEqual(
    rows.map((r) => [r.attempt, r.status, r.response_status, r.error]),
    [
      [1, 'failed', 500, 'the receiver answered HTTP 500'],
      [2, 'failed', 500, 'the receiver answered HTTP 500'],
      [3, 'delivered', 200, null],
    ],
  );
  const info = (await call(rpc(h), 'GetMediaInfo', { MediaId: res.MediaId })).MediaInfo;
  assert.deepEqual(
    info.MessageCallbackDeliveries.map((d: Record<string, unknown>) => [d.Attempt, d.Status, d.ResponseStatus]),
    [
      [1, 'Fail', 500],
      [2, 'Fail', 500],
      [3, 'Success', 200],
    ],
  );
});

test('after callbackMaxAttempts failures the job is failed with the last error', { timeout: 20_000 }, async (t) => {
  const rcv = await receiver([503]);
  t.after(rcv.close);
  const { upload, oss, address } = await createWithCallback(rcv.url);
  await oss.put(address.FileName, hexLines(1000));
  const rows = await deliveries(upload.id, 3);
  assert.deepEqual(rows.map((r) => r.status), ['failed', 'failed', 'failed']);
  let job;
  for (let i = 0; i < 100 && job?.status !== 'failed'; i++) {
    job = await h.app.db.selectFrom('jobs').selectAll().where('payload', 'like', `%${upload.id}%`).executeTakeFirst();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(job?.status, 'failed');
  assert.equal(Number(job?.attempts), 3);
  assert.equal(job?.last_error, 'the receiver answered HTTP 503');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rcv.got.length, 3, 'no fourth attempt');
});

test('a receiver that is not listening is recorded as a failed attempt with the reason', { timeout: 20_000 }, async () => {
  const rcv = await receiver();
  await rcv.close();
  const { upload, oss, address } = await createWithCallback(rcv.url);
  await oss.put(address.FileName, hexLines(1000));
  const [row] = await deliveries(upload.id, 1);
  assert.equal(row.status, 'failed');
  assert.equal(row.response_status, null);
  assert.match(String(row.error), /ECONNREFUSED/);
});

test("another account cannot read an upload's callbacks", async () => {
  const { upload } = await createWithCallback('http://127.0.0.1:9/hook');
  const stranger = await h.newAccount('callback-stranger');
  const res = await fetch(`${h.url}/v1/uploads/${upload.id}/callbacks`, { headers: { authorization: `Bearer ${stranger.secret}` } });
  assert.equal(res.status, 404);
});

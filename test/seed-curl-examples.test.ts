// The curl examples of seeds 001 (Tencent custom_audiences/add) and 004 (PAI
// audience groups), taken from the seed files themselves and run with the
// real curl binary through bash, with only the placeholders filled in: the
// host, the key, the account and audience ids, and the masked phone number.
// What the vendors document as the answer is what comes back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHarness, type Harness } from './support/harness.js';
import { builtAudience, phones } from './support/audiences.js';
import { nativeApi, waitFor } from './support/front-door.js';
import { serviceSeconds } from './support/vendor-clients.js';

const SEEDS = join(import.meta.dirname, '..', '..', 'shared', 'seeds');
const seed = (name: string) => readFileSync(join(SEEDS, name), 'utf8');
const sh = promisify(execFile);

/** Runs one command as bash would; answers curl's output parsed as JSON. */
async function run(command: string): Promise<any> {
  const { stdout } = await sh('bash', ['-c', command], { timeout: 30_000 });
  return JSON.parse(stdout);
}

/** Every ```bash block of a markdown page, keyed by the heading above it. */
function bashBlocks(page: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of page.matchAll(/^### (.+)\n+```bash\n([\s\S]*?)```/gm)) out.set(m[1].trim(), m[2].trim());
  return out;
}

let h: Harness;
before(async () => {
  h = await startHarness({ jobs: true });
});
after(async () => h.close());

test("seed 001: the custom_audiences/add curl example (LOOKALIKE) is checked in full and answered in Tencent's envelope", async () => {
  const page = seed('001_ea727e49a4e4c17c.txt');
  const start = page.indexOf("curl --location --request POST '/v1.3/custom_audiences/add'");
  const end = page.indexOf("}'", start);
  assert.ok(start >= 0 && end > start, 'the curl example is in the seed');
  const example = page.slice(start, end + 2);

  const token = (await nativeApi(h, 'POST', '/v1/tokens')).body.access_token as string;
  const seedAudience = await builtAudience(h, { name: 'lookalike-seed', ids: { id_type: 'phone', values: phones(0, 150) } });
  assert.equal(seedAudience.status, 'SUCCESS');
  const filled = example
    .replace("'/v1.3/", `'${h.url}/v1.3/`)
    .replace("'access_token;'", `'access_token: ${token}'`)
    .replace("'timestamp;'", `'timestamp: ${serviceSeconds(h)}'`)
    .replace("'nonce;'", `'nonce: ${randomUUID().replace(/-/g, '')}'`)
    .replace('<ACCOUNT_ID>', h.account.id)
    .replace('<SEED_AUDIENCE_ID>', String(seedAudience.id));
  assert.doesNotMatch(filled, /<[A-Z_]+>/, 'every placeholder is filled');

  const r = await run(`${filled} --silent`);
  // Every field of the example is valid and the seed audience qualifies
  // (ready, 150 users); lookalike expansion itself is not served, which is
  // said plainly rather than leaving an audience pending forever.
  assert.deepEqual(Object.keys(r).sort(), ['code', 'data', 'message', 'message_cn']);
  assert.equal(r.code, 31010, JSON.stringify(r));
  assert.match(r.message, /lookalike expansion is not available on this deployment/);
  assert.match(r.message_cn, /不可用/);
  const list = await nativeApi(h, 'GET', '/v1/audiences?name=客户人群');
  assert.deepEqual(list.body.items, [], 'nothing was created');

  // The same command for a CUSTOMER_FILE answers the documented success shape.
  const customerFile = filled.replace('"type": "LOOKALIKE"', '"type": "CUSTOMER_FILE"').replace(/,\n"audience_spec": \{[\s\S]*\n\}\n\}'$/, "\n}'");
  assert.notEqual(customerFile, filled);
  const ok = await run(`${customerFile.replace(/'nonce: [0-9a-f]+'/, `'nonce: ${randomUUID().replace(/-/g, '')}'`)} --silent`);
  assert.equal(ok.code, 0, JSON.stringify(ok));
  assert.equal(ok.message, '');
  assert.equal(ok.message_cn, '');
  assert.deepEqual(Object.keys(ok.data), ['audience_id']);
  assert.equal((await nativeApi(h, 'GET', `/v1/audiences/${ok.data.audience_id}`)).body.name, '客户人群');
});

test('seed 004: the four PAI curl examples create, read, list and delete a group, answering the documented response shape', async () => {
  const page = seed('004_6894088f038bafe0.txt');
  const blocks = bashBlocks(page);
  const documented = JSON.parse(/## Response Format\n+```json\n([\s\S]*?)```/.exec(page)![1]);
  const fill = (cmd: string, id = '') =>
    cmd
      .replaceAll(/https:\/\/api\.aliyun\.com/g, h.url)
      // Filled into the text: the GetGroup and ListGroups examples quote the
      // header in single quotes, where bash would not expand the variable.
      .replaceAll('$DASHSCOPE_API_KEY', h.account.secret)
      .replaceAll('0bddaf8f-5628-427a-8652-5e24f6b4c35d', id)
      .replace('1390000****', '13900001234');
  const create = blocks.get('Create an Audience Group from Text – curl – all');
  const get = blocks.get('Retrieve Audience Details – curl – all');
  const del = blocks.get('Delete an Audience Group – curl – all');
  const list = blocks.get('List Audience Groups – curl – all');
  assert.ok(create && get && del && list, `the seed has the four examples: ${[...blocks.keys()].join(' | ')}`);

  const made = await run(`${fill(create)} --silent`);
  assert.equal(made.ErrorCode, 0, JSON.stringify(made));
  assert.equal(made.ErrorMessage, 'OK');
  assert.deepEqual(Object.keys(made).sort(), Object.keys(documented).sort());
  assert.deepEqual(Object.keys(made.Data).sort(), Object.keys(documented.Data).sort(), 'every documented field, and no other');
  assert.equal(made.Data.Name, 'VIP customers');
  assert.equal(made.Data.PhoneNumber, true);
  assert.equal(made.Data.Source, 0);
  const id = made.Data.Id as string;

  const ready = await waitFor('the group is ready', async () => {
    const g = await run(`${fill(get, id)} --silent`);
    assert.equal(g.ErrorCode, 0, JSON.stringify(g));
    return g.Data.Status === 0 ? g : undefined;
  }, 30_000);
  assert.equal(ready.Data.Amount, 1, 'one phone number, one member');
  assert.equal(ready.Data.Text, '1390000****', 'the text is kept masked, as the seed shows it');

  const listed = await run(`${fill(list)} --silent`);
  assert.equal(listed.ErrorCode, 0, JSON.stringify(listed));
  assert.deepEqual(listed.Data.Groups.map((g: { Id: string }) => g.Id), [id]);
  assert.equal(listed.Data.PageNumber, 1);
  assert.equal(listed.Data.PageSize, 10);

  const gone = await run(`${fill(del, id)} --silent`);
  assert.equal(gone.ErrorCode, 0, JSON.stringify(gone));
  const after = await run(`${fill(get, id)} --silent`);
  assert.equal(after.ErrorCode, 404, JSON.stringify(after));
  assert.deepEqual((await run(`${fill(list)} --silent`)).Data.Groups, []);
});

test('seed 004 with an unknown key: the curl examples are refused in the PAI envelope', async () => {
  const blocks = bashBlocks(seed('004_6894088f038bafe0.txt'));
  const cmd = blocks.get('List Audience Groups – curl – all')!.replaceAll('https://api.aliyun.com', h.url).replaceAll('$DASHSCOPE_API_KEY', 'not-a-key');
  const r = await run(`${cmd} --silent`);
  assert.notEqual(r.ErrorCode, 0);
  assert.ok(r.ErrorMessage.length > 0);
  assert.match(r.RequestId, /^[0-9a-f-]{36}$/);
});

// A real process crash: a child commits in a loop and is SIGKILLed at a
// random moment (inside resolve, mid-append, around the rename); the folder
// must then open at a whole commit, at or after the last one reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DictionaryStore } from './store.js';
import { ROUND, roundKeys } from './store.kill-child.js';
import { tempFolder } from './store.fixtures.js';

const CHILD = fileURLToPath(new URL('./store.kill-child.ts', import.meta.url));

/** Runs the child until it has reported `rounds` more commits, then kills it after a random delay; returns the last round it reported. */
function runAndKill(folder: string, rounds: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, folder], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = -1;
    let seen = 0;
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      text += s;
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const l of lines) {
        last = Number(l);
        if (++seen === rounds) setTimeout(() => child.kill('SIGKILL'), Math.random() * 40);
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(last) : reject(new Error(`child exited without being killed (${signal})`))));
  });
}

test('a process killed at random moments while committing reopens at a whole commit', { timeout: 120_000 }, async (t) => {
  const folder = await tempFolder(t);
  let floor = 0;
  for (let kill = 0; kill < 4; kill++) {
    const reported = await runAndKill(folder, 2);
    const store = await DictionaryStore.open(folder);
    const { users } = store.stats();
    assert.equal(users % ROUND, 0, `${users} users is not a whole number of commits`);
    assert.ok(users / ROUND >= Math.max(floor, reported + 1), `commit ${reported} was reported but ${users / ROUND} commits opened`);
    const table = store.stats().tables[0];
    assert.equal(table.keys, users);
    // Every committed round's keys are there, each with its own user in order; the next round's are not.
    const rounds = users / ROUND;
    for (const r of [0, rounds - 1]) {
      const res = store.resolve([{ type: 'gaid_md5', width: 16, keys: roundKeys(r), count: ROUND }], 'closed');
      assert.equal(res.matched, ROUND);
      assert.equal(res.users[ROUND - 1], r * ROUND + ROUND - 1);
    }
    assert.equal(store.resolve([{ type: 'gaid_md5', width: 16, keys: roundKeys(rounds), count: ROUND }], 'closed').matched, 0);
    floor = rounds;
  }
});

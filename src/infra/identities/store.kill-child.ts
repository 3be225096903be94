// Child process for store.kill.test.ts: commits round after round of
// deterministic keys into argv[2] until it is killed, printing each round
// once its commit has returned.
import { createHash } from 'node:crypto';
import { DictionaryStore } from './store.js';

export const ROUND = 20_000;

/** The keys of round r: MD5s of their global index, so every round is new and reproducible. */
export function roundKeys(r: number): Buffer {
  const out = Buffer.alloc(16 * ROUND);
  for (let i = 0; i < ROUND; i++) createHash('md5').update(String(r * ROUND + i)).digest().copy(out, 16 * i);
  return out;
}

if (process.argv[2] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const store = await DictionaryStore.open(process.argv[2]);
  for (let r = store.stats().users / ROUND; ; r++) {
    store.resolve([{ type: 'gaid_md5', width: 16, keys: roundKeys(r), count: ROUND }], 'open');
    await store.commit();
    process.stdout.write(`${r}\n`);
  }
}

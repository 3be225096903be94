// Helpers shared by the dictionary store's tests.
import { mkdtemp, rm } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyWidth } from './arena.js';
import type { DictionaryStore } from './store.js';

/** A fresh folder, removed when the test ends. */
export async function tempFolder(t: TestContext): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'ah-dictionary-'));
  t.after(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Everything a dictionary holds, in a form assert.deepEqual compares. */
export function contentsOf(store: DictionaryStore): { users: number; tables: Record<string, { keys: Buffer; users: Uint32Array }> } {
  const tables: Record<string, { keys: Buffer; users: Uint32Array }> = {};
  const stats = store.stats();
  for (const t of [...stats.tables].sort((a, b) => `${a.type}.${a.width}`.localeCompare(`${b.type}.${b.width}`))) {
    const table = store.keysOf(t.type, t.width)!;
    const users = new Uint32Array(t.keys);
    for (let i = 0; i < t.keys; i++) users[i] = store.userOf(t.type, t.width, i);
    tables[`${t.type}.${t.width}`] = { keys: Buffer.concat(table.arena.slices()), users };
  }
  return { users: stats.users, tables };
}

/** What is committed, as contentsOf would show it after a reopen. */
export function committedOf(store: DictionaryStore): ReturnType<typeof contentsOf> {
  const all = contentsOf(store);
  const stats = store.stats();
  const tables: ReturnType<typeof contentsOf>['tables'] = {};
  for (const t of stats.tables) {
    if (t.committed === 0) continue;
    const name = `${t.type}.${t.width}`;
    tables[name] = { keys: all.tables[name].keys.subarray(0, t.committed * t.width), users: all.tables[name].users.slice(0, t.committed) };
  }
  return { users: stats.committedUsers, tables };
}

/** A group of keys, one per line. */
export function group(type: string, width: KeyWidth, keys: Uint8Array, lines?: number[]): { type: string; width: KeyWidth; keys: Uint8Array; count: number; lines?: Uint32Array } {
  const count = keys.length / width;
  return lines ? { type, width, keys, count, lines: Uint32Array.from(lines) } : { type, width, keys, count };
}

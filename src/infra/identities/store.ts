// The embedded identity dictionary, durable: per id type a KeyTable (digest
// bytes → dense key id) and a UserColumn (key id → user id), users handed out
// from one counter, persisted in one folder (format in files.ts).
//
// Crash safety: data files are only ever appended to, and the manifest's
// counts say how much of them is committed. commit() appends and fsyncs the
// new entries, then atomically replaces the manifest; open() cuts every file
// back to the manifest's counts. So a crash before the manifest's rename
// leaves the previous commit, one after it the new one, never a mix. A file
// shorter than its committed count cannot come from a crash of ours (its
// bytes were fsynced before the manifest named them) and is refused.
//
// One process owns a folder at a time (the worker that runs ingest jobs);
// nothing here locks it.
import { endianness } from 'node:os';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyWidth } from './arena.js';
import {
  DATA_FILE,
  DictionaryCorruptError,
  MANIFEST,
  MANIFEST_TEMP,
  checkTypeName,
  encodeManifest,
  keysFile,
  readCommitted,
  readManifest,
  replaceAtomically,
  syncFolder,
  usersFile,
  writeAt,
  type TableEntry,
} from './files.js';
import type { IdentityDictionary } from './dictionary.js';
import type { ReadonlyBitmap } from '../bitmaps/index.js';
import { exportEmbeddedKeys } from './export.js';
import { lineCountOf, resolveLines, type Resolution, type ResolveMode, type TypeKeys } from './resolve.js';
import { ABSENT, KeyTable } from './table.js';
import { NO_USER, UserColumn } from './users.js';

/** The most user ids: NO_USER (0xFFFFFFFF) marks "none". */
const MAX_USERS = NO_USER;

interface Table {
  readonly type: string;
  readonly width: KeyWidth;
  readonly keys: KeyTable;
  readonly users: UserColumn;
  /** Entries in the files as of the last commit. */
  committed: number;
}

export interface DictionaryStats {
  /** Users handed out (the next user id). */
  users: number;
  /** Users as of the last commit. */
  committedUsers: number;
  tables: Array<{ type: string; width: KeyWidth; keys: number; committed: number }>;
}

export interface CommitResult {
  /** Keys written by this commit, across tables. */
  keys: number;
  /** Bytes appended to data files. */
  bytes: number;
}

export class DictionaryStore implements IdentityDictionary {
  readonly kind = 'embedded' as const;
  private readonly tables = new Map<string, Table>();
  private nextUser: number;
  private committedUsers: number;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly folder: string,
    users: number,
  ) {
    this.nextUser = users;
    this.committedUsers = users;
  }

  /**
   * Opens (creating if needed) the dictionary in `folder`: drops a torn
   * manifest temp file and any data beyond the manifest's counts, removes
   * data files of tables no commit published, and rebuilds the tables.
   */
  static async open(folder: string): Promise<DictionaryStore> {
    if (endianness() !== 'LE') throw new Error('the identity dictionary files are little-endian; this platform is not');
    await fs.mkdir(folder, { recursive: true });
    await fs.rm(join(folder, MANIFEST_TEMP), { force: true });
    const manifest = await readManifest(folder);
    const store = new DictionaryStore(folder, manifest.users);
    for (const entry of manifest.tables) store.tables.set(nameOf(entry.type, entry.width), await loadTable(folder, entry, manifest.users));
    let removed = false;
    for (const name of await fs.readdir(folder)) {
      const m = DATA_FILE.exec(name);
      if (m && !store.tables.has(`${m[1]}.${m[2]}`)) {
        await fs.rm(join(folder, name), { force: true });
        removed = true;
      }
    }
    if (removed) await syncFolder(folder);
    return store;
  }

  /**
   * Resolves a batch of lines to users; see resolve.ts for the rules. Open
   * mode adds unknown keys and users (visible at once, durable at the next
   * commit); closed mode only looks up. `lineCount` defaults to the lines
   * the keys span; lines without keys come back as NO_USER.
   */
  resolve(input: readonly TypeKeys[], mode: ResolveMode, lineCount?: number): Resolution {
    for (const g of input) {
      checkTypeName(g.type);
      if (g.width !== 16 && g.width !== 32) throw new RangeError(`${g.type}: key width must be 16 or 32 bytes, not ${String(g.width)}`);
    }
    const n = lineCountOf(input, lineCount);
    const open = mode === 'open';
    const tables = input.map((g) => (open && g.count > 0 ? this.table(g.type, g.width) : this.tables.get(nameOf(g.type, g.width))));
    const ids = input.map((g) => new Uint32Array(g.count));
    let newKeys = 0;
    for (let i = 0; i < input.length; i++) {
      const { keys, count } = input[i];
      const t = tables[i];
      if (t === undefined) ids[i].fill(ABSENT);
      else if (!open) t.keys.lookupMany(keys, count, ids[i]);
      else {
        newKeys += t.keys.insertMissing(keys, count, ids[i]);
        t.users.grow(t.keys.size);
      }
    }
    const next = open ? () => this.allocateUser() : undefined;
    const r = resolveLines(input, ids, tables.map((t) => t?.users), n, next);
    r.newKeys = newKeys;
    return r;
  }

  /**
   * Makes everything resolved so far durable. Commits run one at a time;
   * resolve() may run while one is in flight (it lands in the next).
   */
  commit(): Promise<CommitResult> {
    const run = this.queue.then(() => this.commitNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  exportKeys(type: string, width: KeyWidth, members: ReadonlyBitmap): AsyncIterable<Uint8Array> {
    return exportEmbeddedKeys(this, type, width, members);
  }

  /** Waits for a commit in flight; the files need no closing. */
  async close(): Promise<void> {
    await this.queue;
  }

  stats(): DictionaryStats {
    const tables = [...this.tables.values()].map((t) => ({ type: t.type, width: t.width, keys: t.keys.size, committed: t.committed }));
    return { users: this.nextUser, committedUsers: this.committedUsers, tables };
  }

  /** The key table of a type, for reading (undefined if it has no keys yet). */
  keysOf(type: string, width: KeyWidth): KeyTable | undefined {
    return this.tables.get(nameOf(type, width))?.keys;
  }

  /** The user column of a type, for reading in bulk (export); undefined if it has no keys yet. */
  usersOf(type: string, width: KeyWidth): UserColumn | undefined {
    return this.tables.get(nameOf(type, width))?.users;
  }

  /** The user of key id `keyId` of a type. */
  userOf(type: string, width: KeyWidth, keyId: number): number {
    const t = this.tables.get(nameOf(type, width));
    if (t === undefined || !(keyId >= 0 && keyId < t.users.length)) throw new RangeError(`no key ${keyId} of ${type}.${width}`);
    return t.users.get(keyId);
  }

  private async commitNow(): Promise<CommitResult> {
    const snapshot = await this.appendPending();
    await this.publish(snapshot);
    return { keys: snapshot.keys, bytes: snapshot.bytes };
  }

  /**
   * Step 1 of a commit: appends every table's entries since its last commit
   * to its files and fsyncs them. The manifest still names the old counts,
   * so until step 2 the new bytes are invisible to open().
   * @internal Exposed so tests can stop a commit between its two steps.
   */
  async appendPending(): Promise<Snapshot> {
    // Counts are taken before the first await: a resolve() that runs while
    // the files are written must not put into this commit a key whose user
    // is past the user count it publishes.
    const users = this.nextUser;
    const live = [...this.tables.values()];
    const tables: TableEntry[] = live.map((t) => ({ type: t.type, width: t.width, keys: t.keys.size }));
    let keys = 0;
    let bytes = 0;
    let created = false;
    for (let i = 0; i < live.length; i++) {
      const t = live[i];
      const from = t.committed;
      const to = tables[i].keys;
      if (to === from) continue;
      created = (await writeAt(keysFile(this.folder, t), from * t.width, t.keys.arena.slices(from, to))) || created;
      created = (await writeAt(usersFile(this.folder, t), from * 4, t.users.slices(from, to))) || created;
      keys += to - from;
      bytes += (to - from) * (t.width + 4);
    }
    if (created) await syncFolder(this.folder);
    return { users, tables, keys, bytes };
  }

  /** Step 2: the new manifest names the appended entries; then they are the dictionary. */
  async publish(s: Snapshot): Promise<void> {
    await replaceAtomically(this.folder, MANIFEST, MANIFEST_TEMP, encodeManifest(s));
    this.committedUsers = s.users;
    for (const e of s.tables) this.tables.get(nameOf(e.type, e.width))!.committed = e.keys;
  }

  private table(type: string, width: KeyWidth): Table {
    const name = nameOf(type, width);
    let t = this.tables.get(name);
    if (t === undefined) {
      t = { type, width, keys: new KeyTable(width), users: new UserColumn(), committed: 0 };
      this.tables.set(name, t);
    }
    return t;
  }

  private allocateUser(): number {
    if (this.nextUser >= MAX_USERS) throw new RangeError(`the identity dictionary holds ${MAX_USERS} users, the most a uint32 id allows`);
    return this.nextUser++;
  }
}

/** What a commit writes: the counts the next manifest will name. */
export interface Snapshot {
  users: number;
  tables: TableEntry[];
  keys: number;
  bytes: number;
}

function nameOf(type: string, width: KeyWidth): string {
  return `${type}.${width}`;
}

async function loadTable(folder: string, e: TableEntry, users: number): Promise<Table> {
  const keyBytes = await readCommitted(keysFile(folder, e), e.keys * e.width);
  const keys = KeyTable.fromKeys(e.width, keyBytes);
  const column = new UserColumn();
  const path = usersFile(folder, e);
  column.appendBytes(await readCommitted(path, e.keys * 4));
  const max = column.max();
  if (max >= users) throw new DictionaryCorruptError(path, `holds user ${max}, the manifest has handed out ${users}`);
  return { type: e.type, width: e.width, keys, users: column, committed: e.keys };
}

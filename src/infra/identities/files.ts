// The dictionary folder on disk: the manifest and the per-table data files.
//
//   <folder>/manifest.json          {"format":"audiencehub-dictionary","version":1,
//                                    "users":N,"tables":[{"type","width","keys"}...]}
//   <folder>/<type>.<width>.keys    keys in key-id order, `width` raw bytes each
//   <folder>/<type>.<width>.users   the user id of each key, uint32 little-endian
//
// The manifest is the commit point: only the first `keys` entries of a
// table's files are the dictionary; bytes beyond them are what a crash
// between appending and publishing left, and are cut off at open. The
// manifest is replaced atomically (write a temp file, fsync it, rename it
// over, fsync the folder), so it is always a whole old or a whole new one.
import { constants, type FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyWidth } from './arena.js';

export const MANIFEST = 'manifest.json';
export const MANIFEST_TEMP = 'manifest.json.tmp';
const FORMAT = 'audiencehub-dictionary';
const VERSION = 1;
/** Id type names become file names, so they are held to this. */
const TYPE_NAME = /^[a-z0-9_]{1,64}$/;
/** A data file name: which table, which half. */
export const DATA_FILE = /^([a-z0-9_]{1,64})\.(16|32)\.(keys|users)$/;
/** Bytes per read when loading a data file. */
const READ_PIECE = 64 << 20;

/** The folder holds something a commit cannot have written: refuse rather than guess. */
export class DictionaryCorruptError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`identity dictionary is corrupt: ${file}: ${detail}`);
    this.name = 'DictionaryCorruptError';
  }
}

export interface TableEntry {
  type: string;
  width: KeyWidth;
  /** Committed key count; also the committed entry count of the users file. */
  keys: number;
}

export interface Manifest {
  /** The next user id to hand out. */
  users: number;
  tables: TableEntry[];
}

export function checkTypeName(type: string): void {
  if (!TYPE_NAME.test(type)) throw new RangeError(`id type name "${type}" must match ${TYPE_NAME}`);
}

export function keysFile(folder: string, t: { type: string; width: KeyWidth }): string {
  return join(folder, `${t.type}.${t.width}.keys`);
}

export function usersFile(folder: string, t: { type: string; width: KeyWidth }): string {
  return join(folder, `${t.type}.${t.width}.users`);
}

export function encodeManifest(m: Manifest): string {
  return `${JSON.stringify({ format: FORMAT, version: VERSION, users: m.users, tables: m.tables })}\n`;
}

/** Reads and checks the manifest; a folder without one is an empty dictionary. */
export async function readManifest(folder: string): Promise<Manifest> {
  const path = join(folder, MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { users: 0, tables: [] };
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new DictionaryCorruptError(path, 'not valid JSON');
  }
  const m = raw as { format?: unknown; version?: unknown; users?: unknown; tables?: unknown };
  if (m === null || typeof m !== 'object' || m.format !== FORMAT) throw new DictionaryCorruptError(path, `not a ${FORMAT} manifest`);
  if (m.version !== VERSION) throw new DictionaryCorruptError(path, `version ${String(m.version)} is not ${VERSION}`);
  if (!isCount(m.users)) throw new DictionaryCorruptError(path, 'users is not a uint32 count');
  if (!Array.isArray(m.tables)) throw new DictionaryCorruptError(path, 'tables is not a list');
  const seen = new Set<string>();
  const tables = m.tables.map((t: { type?: unknown; width?: unknown; keys?: unknown }): TableEntry => {
    if (typeof t?.type !== 'string' || !TYPE_NAME.test(t.type) || (t.width !== 16 && t.width !== 32) || !isCount(t.keys)) {
      throw new DictionaryCorruptError(path, `bad table entry ${JSON.stringify(t)}`);
    }
    const name = `${t.type}.${t.width}`;
    if (seen.has(name)) throw new DictionaryCorruptError(path, `table ${name} listed twice`);
    seen.add(name);
    return { type: t.type, width: t.width, keys: t.keys };
  });
  return { users: m.users, tables };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

/** Replaces `name` in `folder` with `text`: temp file, fsync, rename, fsync the folder. */
export async function replaceAtomically(folder: string, name: string, temp: string, text: string): Promise<void> {
  const tempPath = join(folder, temp);
  const fh = await fs.open(tempPath, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tempPath, join(folder, name));
  await syncFolder(folder);
}

/** Makes created, renamed and removed names in `folder` durable. */
export async function syncFolder(folder: string): Promise<void> {
  const fh = await fs.open(folder, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The first `bytes` bytes of `path`, with anything after them cut off (and
 * the cut made durable). A file shorter than `bytes` lost committed data:
 * that is corruption, never a crash we caused, so it throws.
 */
export async function readCommitted(path: string, bytes: number): Promise<Buffer> {
  let fh: FileHandle;
  try {
    fh = await fs.open(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    if (bytes === 0) return Buffer.alloc(0);
    throw new DictionaryCorruptError(path, `missing, the manifest commits ${bytes} bytes`);
  }
  try {
    const { size } = await fh.stat();
    if (size < bytes) throw new DictionaryCorruptError(path, `holds ${size} bytes, the manifest commits ${bytes}`);
    if (size > bytes) {
      await fh.truncate(bytes);
      await fh.sync();
    }
    const out = Buffer.allocUnsafe(bytes);
    for (let done = 0; done < bytes; ) {
      const { bytesRead } = await fh.read(out, done, Math.min(READ_PIECE, bytes - done), done);
      if (bytesRead === 0) throw new DictionaryCorruptError(path, `ended at ${done} of ${bytes} bytes while reading`);
      done += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}

/**
 * Writes `pieces` at byte `position` of `path` (created if missing) and
 * fsyncs it. Positional, not O_APPEND: what an interrupted earlier attempt
 * left past `position` is overwritten. Returns whether the file was created.
 */
export async function writeAt(path: string, position: number, pieces: Uint8Array[]): Promise<boolean> {
  let created = false;
  let fh: FileHandle;
  try {
    fh = await fs.open(path, constants.O_RDWR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fh = await fs.open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    created = true;
  }
  try {
    let at = position;
    // writev takes at most IOV_MAX buffers per call on some platforms; 64 is far below.
    for (let i = 0; i < pieces.length; i += 64) {
      const group = pieces.slice(i, i + 64);
      const want = group.reduce((s, p) => s + p.length, 0);
      const { bytesWritten } = await fh.writev(group, at);
      if (bytesWritten !== want) throw new Error(`${path}: short write, ${bytesWritten} of ${want} bytes at ${at}`);
      at += want;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return created;
}

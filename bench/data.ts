// Generated inputs shared by the benchmarks, cached under .bench/ (no download).
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = join(fileURLToPath(new URL('..', import.meta.url)), '.bench');
/** 32 lower-case hex characters and a newline. */
export const HEX_LINE = 33;

/** `lines` lines of random lower-case 32-hex (MD5-shaped ids), LF-terminated; reused when present. */
export function ensureHexLines(lines: number): string {
  const file = join(BENCH_DIR, `scan-${lines}.txt`);
  if (existsSync(file) && statSync(file).size === lines * HEX_LINE) return file;
  mkdirSync(BENCH_DIR, { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  const perBlock = 100_000;
  const block = Buffer.alloc(perBlock * HEX_LINE);
  for (let done = 0; done < lines; done += perBlock) {
    const n = Math.min(perBlock, lines - done);
    const hex = randomBytes(n * 16).toString('hex');
    for (let i = 0; i < n; i++) {
      block.write(hex.slice(i * 32, i * 32 + 32), i * HEX_LINE, 'latin1');
      block[i * HEX_LINE + 32] = 0x0a;
    }
    writeSync(fd, block, 0, n * HEX_LINE);
  }
  closeSync(fd);
  renameSync(tmp, file);
  return file;
}

/** The spellings people type a mainland mobile number in (all accepted by the registry's phone rule). */
const PHONE_FORMATS: Array<(d: string) => string> = [
  (d) => d,
  (d) => `${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => `+86 ${d.slice(0, 3)} ${d.slice(3, 7)} ${d.slice(7)}`,
  (d) => `+86${d}`,
  (d) => `0086${d}`,
  (d) => `0086 ${d}`,
  (d) => `86-${d.slice(0, 3)}-${d.slice(3, 7)}-${d.slice(7)}`,
  (d) => `(+86) ${d.slice(0, 3)} ${d.slice(3)}`,
  (d) => `+86-${d}`,
];

/**
 * `lines` raw mainland mobile numbers (13x-19x, the rest random) in the
 * spellings above, in turn, LF-terminated; reused when present. A fixed
 * xorshift seed makes the file the same on every machine.
 */
export function ensurePhoneLines(lines: number): string {
  const file = join(BENCH_DIR, `phones-${lines}.txt`);
  if (existsSync(file)) return file;
  mkdirSync(BENCH_DIR, { recursive: true });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  let x = 0x9e3779b9;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const perBlock = 100_000;
  for (let done = 0; done < lines; done += perBlock) {
    const n = Math.min(perBlock, lines - done);
    const out: string[] = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const digits = `1${3 + (next() % 7)}${String(next() % 1_000_000_000).padStart(9, '0')}`;
      out[i] = PHONE_FORMATS[(done + i) % PHONE_FORMATS.length](digits);
    }
    writeSync(fd, `${out.join('\n')}\n`);
  }
  closeSync(fd);
  renameSync(tmp, file);
  return file;
}

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

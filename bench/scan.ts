// `npm run bench -- scan`: the ingest scanner over 30 M lines of 32-char hex
// (an MD5 file, 990 MB), read in 16 MiB chunks, beside `wc -l` on the same
// file. Figures only, no target; DESIGN.md's hand scan (bytes → hex table,
// no strings) did 23.5 M lines/s on CI's 2-core machine.
//
// Modes, each timed over the whole file:
//   text             lines as strings (the default output)
//   bytes            lines as byte ranges
//   text+normalize   strings into normalizeInto('gaid_md5', ...), what ingest runs today
//   bytes+normalize  ranges turned into strings by the consumer, then normalizeInto
//   kernel           the hex line kernel (what ingest runs for gaid_md5): cut,
//                    trimmed and decoded to keys natively, region by region
//
// Options:
//   --lines N    lines in the file (default 30000000); the file is kept under .bench/ and reused
//   --mode M     run one mode only
import { spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { KeyBatch, lookupIdType, normalizeInto } from '../src/domain/identities/index.js';
import { scanLines, type LineBatch, type LineOutput } from '../src/domain/ingest/index.js';
import { LineKernel } from '../src/domain/ingest/kernel.js';
import { ensureHexLines } from './data.js';

const CHUNK = 16 << 20;
const MODES = ['text', 'bytes', 'text+normalize', 'bytes+normalize', 'kernel'] as const;
type Mode = (typeof MODES)[number];

function consumer(mode: Mode): (b: LineBatch) => void {
  const keys = new KeyBatch();
  if (mode === 'text+normalize') {
    return (b) => {
      for (let i = 0; i < b.count; i++) if (!normalizeInto('gaid_md5', b.text[i], keys)) throw new Error(keys.reason);
    };
  }
  if (mode === 'bytes+normalize') {
    return (b) => {
      for (let i = 0; i < b.count; i++) if (!normalizeInto('gaid_md5', b.sources[i].toString('latin1', b.starts[i], b.ends[i]), keys)) throw new Error(keys.reason);
    };
  }
  return () => {};
}

async function scanOnce(file: string, mode: Mode): Promise<{ seconds: number; lines: number }> {
  const output: LineOutput = mode.startsWith('bytes') || mode === 'kernel' ? 'bytes' : 'text';
  const kernel = mode === 'kernel' ? LineKernel.for(lookupIdType('gaid_md5')!, 65_536) : undefined;
  const start = process.hrtime.bigint();
  const report = await scanLines(createReadStream(file, { highWaterMark: CHUNK }), consumer(mode), { output, kernel });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (report.delivered !== report.lines) throw new Error(`${mode}: ${report.delivered} of ${report.lines} lines delivered`);
  return { seconds, lines: report.lines };
}

export async function run(args: string[]): Promise<number> {
  let lines = 30_000_000;
  let modes: readonly Mode[] = MODES;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--lines' && /^\d+$/.test(args[i + 1] ?? '')) lines = Number(args[++i]);
    else if (args[i] === '--mode' && MODES.includes(args[i + 1] as Mode)) modes = [args[++i] as Mode];
    else throw new Error(`unknown option ${args[i]}; options: --lines N, --mode ${MODES.join('|')}`);
  }
  const file = ensureHexLines(lines);
  console.log(`${file}: ${lines} lines, ${(statSync(file).size / 1e6).toFixed(0)} MB`);

  spawnSync('wc', ['-l', file]); // warm the page cache
  const wcStart = process.hrtime.bigint();
  const wc = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  const wcSeconds = Number(process.hrtime.bigint() - wcStart) / 1e9;
  console.log(`wc -l            ${(lines / wcSeconds / 1e6).toFixed(1).padStart(6)} M lines/s  ${wcSeconds.toFixed(2)} s  (${wc.stdout.trim().split(/\s+/)[0]} lines)`);

  for (const mode of modes) {
    const { seconds } = await scanOnce(file, mode);
    console.log(`${mode.padEnd(16)} ${(lines / seconds / 1e6).toFixed(1).padStart(6)} M lines/s  ${seconds.toFixed(2)} s`);
  }
  return 0;
}

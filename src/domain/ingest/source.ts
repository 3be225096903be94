// The bytes of an audience file as the scanner reads them: gzip is recognised
// by its magic bytes (never by a name) and inflated with 1 MiB output chunks
// (zlib's default 16 KiB chunk is 2.4x slower here, DESIGN.md) on a worker
// thread, with a read-ahead, so that zlib works while the scan and the
// dictionary do.
import { Worker } from 'node:worker_threads';
import { err } from '../../errors.js';

const GZIP_CHUNK = 1 << 20;
/** Inflated bytes zlib may run ahead of the scan. */
const GZIP_READ_AHEAD = 8 << 20;

export interface SourceState {
  bytes: number;
  format: 'text' | 'gzip';
}

/** The file's content: the source as is, or inflated when it starts with the gzip magic bytes. */
export async function* contentOf(source: AsyncIterable<Buffer>, state: SourceState): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let n = 0;
  let handedOn = false;
  try {
    while (n < 2) {
      const r = await it.next();
      if (r.done) break;
      head.push(r.value);
      n += r.value.length;
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head);
    state.format = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b ? 'gzip' : 'text';
    handedOn = true;
    const all = counted(first, it, state);
    if (state.format === 'text') yield* all;
    else yield* inflated(all);
  } finally {
    if (!handedOn) await it.return?.();
  }
}

async function* counted(first: Buffer, rest: AsyncIterator<Buffer>, state: SourceState): AsyncGenerator<Buffer> {
  state.bytes = first.length;
  if (first.length > 0) yield first;
  // for await closes the source when the consumer stops early.
  for await (const chunk of { [Symbol.asyncIterator]: () => rest }) {
    state.bytes += chunk.length;
    yield chunk;
  }
}

/**
 * The inflating side, run on a worker thread. Node's zlib already inflates on
 * libuv's pool, but each 1 MiB of output is handed over, and the next step
 * started, by a callback on the thread that owns the stream; on the ingest
 * thread those callbacks wait behind every batch of scanning and dictionary
 * work, so zlib would idle for much of the time. On its own thread the
 * stream restarts at once, and inflating (one core) overlaps with the scan
 * and the dictionary (the other).
 *
 * Messages in: {input} a compressed chunk, {end}, {ack} one output chunk
 * consumed. Out: {need} more input please, {output} a chunk, {done},
 * {error, code}. Output runs at most READ_AHEAD bytes ahead of the acks.
 * Kept as source text (eval) so that it loads the same from src/ under tsx
 * and from dist/.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createGunzip } = require('node:zlib');
const gunzip = createGunzip({ chunkSize: workerData.chunk });
let ahead = 0;
let paused = false;
gunzip.on('data', (chunk) => {
  // A chunk that is a whole buffer was a full output buffer, which zlib then
  // replaced: it is ours to transfer. A part of one is copied out.
  const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  const out = own ? chunk : new Uint8Array(chunk);
  parentPort.postMessage({ output: out }, [out.buffer]);
  ahead += out.byteLength;
  if (ahead >= workerData.readAhead && !paused) {
    paused = true;
    gunzip.pause();
  }
});
gunzip.on('end', () => parentPort.postMessage({ done: true }));
gunzip.on('error', (e) => parentPort.postMessage({ error: e.message, code: e.code }));
parentPort.on('message', (m) => {
  if (m.input) gunzip.write(m.input, () => parentPort.postMessage({ need: true }));
  else if (m.end) gunzip.end();
  else if (m.ack) {
    ahead -= m.ack;
    if (paused && ahead < workerData.readAhead) {
      paused = false;
      gunzip.resume();
    }
  }
});
parentPort.postMessage({ need: true });
`;

interface FromWorker {
  need?: true;
  output?: Uint8Array;
  done?: true;
  error?: string;
  code?: string;
}

async function* inflated(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // execArgv: none of the parent's loaders (tsx) are needed for this plain script.
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { chunk: GZIP_CHUNK, readAhead: GZIP_READ_AHEAD } });
  const it = input[Symbol.asyncIterator]();
  const outputs: Buffer[] = [];
  let done = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let feeding = false;
  let inputDone = false;
  // One compressed chunk per request: the worker asks again once zlib has taken the last.
  const feed = async () => {
    if (feeding || inputDone) return;
    feeding = true;
    try {
      const r = await it.next();
      if (r.done) {
        inputDone = true;
        worker.postMessage({ end: true });
      } else {
        const c = r.value;
        // An fs chunk owns its memory and is moved, not copied; a part of a shared buffer is copied.
        const owned = c.byteOffset === 0 && c.byteLength === c.buffer.byteLength && !(c.buffer instanceof SharedArrayBuffer);
        const chunk = owned ? c : new Uint8Array(c);
        worker.postMessage({ input: chunk }, [chunk.buffer as ArrayBuffer]);
      }
    } catch (e) {
      failure ??= e;
      notify();
    } finally {
      feeding = false;
    }
  };
  worker.on('message', (m: FromWorker) => {
    if (m.need) void feed();
    else if (m.output) {
      outputs.push(Buffer.from(m.output.buffer, m.output.byteOffset, m.output.byteLength));
      notify();
    } else if (m.done) {
      done = true;
      notify();
    } else if (m.error !== undefined) {
      const code = m.code ?? '';
      failure ??= code.startsWith('Z_') ? err('GzipCorrupt', `the gzip stream is corrupt or truncated: ${m.error}`) : new Error(m.error);
      notify();
    }
  });
  worker.on('error', (e) => {
    failure ??= e;
    notify();
  });
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const chunk = outputs.shift();
      if (chunk !== undefined) {
        yield chunk;
        worker.postMessage({ ack: chunk.length });
        continue;
      }
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    await worker.terminate();
    if (!inputDone) await it.return?.();
  }
}

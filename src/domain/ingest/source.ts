// The bytes of an audience file as the scanner reads them: gzip is recognised
// by its magic bytes (never by a name) and inflated with 1 MiB output chunks
// (zlib's default 16 KiB chunk is 2.4x slower here, DESIGN.md) and a read-ahead
// that lets zlib work while JavaScript normalizes.
import { Readable, type TransformOptions } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
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

async function* inflated(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const options: ZlibOptions & TransformOptions = { chunkSize: GZIP_CHUNK, readableHighWaterMark: GZIP_READ_AHEAD };
  const gunzip = createGunzip(options);
  const feed = Readable.from(input, { objectMode: false });
  let sourceError: unknown;
  feed.on('error', (e) => {
    sourceError = e;
    gunzip.destroy(e);
  });
  feed.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (e) {
    if (e !== sourceError && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code!.startsWith('Z_')) {
      throw err('GzipCorrupt', `the gzip stream is corrupt or truncated: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    feed.destroy();
    gunzip.destroy();
  }
}

// The streaming check every incoming file goes through, whichever protocol
// carried it: count and MD5 every byte, refuse as soon as a limit is known
// to be broken, sniff the format from the magic bytes, require text (no NUL
// byte anywhere, valid UTF-8 at the head) and, for gzip, decompress
// alongside the upload so that a corrupt, truncated or explosive gzip is
// refused before the upload is accepted. Nothing is buffered whole.
//
// An event upload named .parquet is binary by nature: instead of the text
// check it must carry Parquet's magic bytes, PAR1, at both ends (the head
// and the footer), which tells a Parquet file from a text or gzip file put
// under the wrong name before any load tries to read it.
import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { AppError, err } from '../../errors.js';
import { md5Hasher } from './md5.js';
import type { ContentRule } from './purpose.js';

export interface ReceiveLimits {
  maxBytes: number;
  minBytes?: number;
  /** Content-Length when the client sent one; a shorter body is an IncompleteBody. */
  expectedBytes?: number;
  /** A lower bound on the size known before the body arrives (a form's Content-Length less what precedes the file). */
  atLeastBytes?: number;
  gzipMaxRatio: number;
  gzipRatioFloorBytes: number;
  /** Called once, when every check that needs no body has passed and reading starts. */
  beforeRead?: () => void;
  /** How the content is checked (purpose.ts); an audience file when absent. */
  content?: ContentRule;
}

export interface Received {
  size: number;
  md5Hex: string;
  format: 'text' | 'gzip' | 'parquet';
  /** Decompressed size for gzip, size otherwise. */
  contentBytes: number;
}

const UTF8_HEAD = 1 << 20;
const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = Buffer.from('PAR1');

/** What a refused file should have been, in the words of its purpose. */
const EXPECTED: Record<'audience' | 'event-text', { binary: string; utf8: string }> = {
  audience: { binary: 'audience files are txt or csv text, or gzip of them', utf8: 'audience files are txt or csv text in UTF-8, or gzip of them' },
  'event-text': {
    binary: 'a .csv, .ndjson or .jsonl event file is text, or gzip of it; upload a Parquet file under a .parquet name',
    utf8: 'a .csv, .ndjson or .jsonl event file is text in UTF-8, or gzip of it',
  },
};

/** Checks that a stream of (decompressed) bytes is text. */
class TextCheck {
  private head: Buffer[] = [];
  private headBytes = 0;
  bytes = 0;
  constructor(
    private readonly what: string,
    private readonly expected: { binary: string; utf8: string },
  ) {}

  push(chunk: Buffer): void {
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      throw err('NotAudienceFile', `${this.what} holds binary data (a NUL byte at offset ${this.bytes + nul}); ${this.expected.binary}`);
    }
    if (this.headBytes < UTF8_HEAD) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= UTF8_HEAD) this.checkHead(false);
    }
    this.bytes += chunk.length;
  }

  end(): void {
    if (this.head.length) this.checkHead(true);
  }

  private checkHead(complete: boolean): void {
    const buf = Buffer.concat(this.head).subarray(0, UTF8_HEAD);
    this.head = [];
    // A multi-byte character may straddle the cut: allow up to 3 bytes of it.
    const ok = isUtf8(buf) || (!complete && [1, 2, 3].some((n) => isUtf8(buf.subarray(0, buf.length - n))));
    if (!ok) throw err('NotAudienceFile', `${this.what} is not UTF-8 text; ${this.expected.utf8}`);
  }
}

/**
 * Checks that a stream of bytes is a Parquet file by its magic bytes: PAR1
 * first (refused as soon as the first four bytes are in) and PAR1 last (the
 * last four bytes, kept across chunks). The footer between is the reader's
 * to judge; a truncated or damaged one fails the load with its reason.
 */
class ParquetCheck {
  private head = Buffer.alloc(0);
  private tail = Buffer.alloc(0);
  bytes = 0;

  push(chunk: Buffer): void {
    if (this.head.length < PARQUET_MAGIC.length) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, PARQUET_MAGIC.length - this.head.length)]);
      if (this.head.length === PARQUET_MAGIC.length && !this.head.equals(PARQUET_MAGIC)) throw ParquetCheck.refusal("does not start with Parquet's magic bytes (PAR1)");
    }
    // Only the last four bytes are kept, copied out so no whole chunk stays referenced.
    const n = PARQUET_MAGIC.length;
    this.tail = Buffer.from(chunk.length >= n ? chunk.subarray(-n) : Buffer.concat([this.tail, chunk]).subarray(-n));
    this.bytes += chunk.length;
  }

  end(): void {
    // PAR1 at each end, not one PAR1 serving as both: the smallest file with a footer holds more.
    if (this.bytes < 2 * PARQUET_MAGIC.length) throw ParquetCheck.refusal(`is ${this.bytes} bytes, too short to hold Parquet's magic bytes (PAR1) at both ends`);
    if (!this.tail.equals(PARQUET_MAGIC)) throw ParquetCheck.refusal("does not end with Parquet's magic bytes (PAR1)");
  }

  private static refusal(why: string): AppError {
    return err('NotAudienceFile', `the file is named .parquet but ${why}; upload the Parquet file itself, not gzipped, or name a text event file .csv, .ndjson or .jsonl`);
  }
}

export async function receiveStream(source: AsyncIterable<Buffer>, sink: Writable, limits: ReceiveLimits): Promise<Received> {
  const md5 = md5Hasher(limits.expectedBytes ?? limits.atLeastBytes ?? 0);
  let size = 0;
  let format: Received['format'] | undefined;
  let pending: Buffer[] = [];
  let text: TextCheck | undefined;
  let parquet: ParquetCheck | undefined;
  const rule = limits.content ?? 'audience';
  const expected = rule === 'event-text' ? EXPECTED['event-text'] : EXPECTED.audience;
  let gunzip: Gunzip | undefined;
  let gzipOut: TextCheck | undefined;
  let gzipError: unknown;

  const startGzip = () => {
    gzipOut = new TextCheck('the decompressed gzip content', expected);
    gunzip = createGunzip({ chunkSize: 1 << 20 });
    gunzip.on('data', (d: Buffer) => {
      try {
        gzipOut!.push(d);
        const allowed = Math.max(limits.gzipRatioFloorBytes, limits.gzipMaxRatio * Math.max(size, limits.expectedBytes ?? 0));
        if (gzipOut!.bytes > allowed) {
          throw err('GzipBomb', `the gzip content expands to more than ${limits.gzipMaxRatio} times its compressed size`);
        }
      } catch (e) {
        gzipError ??= e;
        gunzip!.destroy();
      }
    });
    gunzip.on('error', (e) => {
      gzipError ??= e;
    });
  };

  const feed = async (chunk: Buffer) => {
    if (format === 'text') text!.push(chunk);
    else if (format === 'parquet') parquet!.push(chunk);
    else if (gunzip && !gunzip.destroyed) {
      if (!gunzip.write(chunk)) await Promise.race([once(gunzip, 'drain'), once(gunzip, 'close')]);
    }
    if (gzipError) throw gzipError;
    if (!sink.write(chunk)) await once(sink, 'drain');
  };

  const decide = async (final: boolean) => {
    const head = Buffer.concat(pending);
    if (rule === 'parquet') {
      // The name said Parquet: its bytes are checked as Parquet, never sniffed as gzip or text.
      format = 'parquet';
      parquet = new ParquetCheck();
    } else {
      if (head.length < 2 && !final) return;
      format = head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? 'gzip' : 'text';
      if (format === 'text') text = new TextCheck('the file', expected);
      else startGzip();
    }
    pending = [];
    await feed(head);
  };

  try {
    if (limits.expectedBytes !== undefined && limits.expectedBytes > limits.maxBytes) {
      throw err('TooLarge', `the file is ${limits.expectedBytes} bytes; at most ${limits.maxBytes} are allowed`);
    }
    if (limits.atLeastBytes !== undefined && limits.atLeastBytes > limits.maxBytes) {
      throw err('TooLarge', `the file is at least ${limits.atLeastBytes} bytes; at most ${limits.maxBytes} are allowed`);
    }
    limits.beforeRead?.();
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limits.maxBytes) throw err('TooLarge', `the file is larger than ${limits.maxBytes} bytes`);
      if (limits.expectedBytes !== undefined && size > limits.expectedBytes) throw err('InvalidRequest', 'the body is longer than its Content-Length');
      if (!md5.update(chunk)) await md5.drain();
      if (format === undefined) {
        pending.push(chunk);
        await decide(false);
      } else {
        await feed(chunk);
      }
    }
    if (format === undefined) await decide(true);
    if (limits.expectedBytes !== undefined && size < limits.expectedBytes) {
      throw err('IncompleteBody', `the body ended after ${size} of ${limits.expectedBytes} bytes`);
    }
    if (size === 0 || (limits.minBytes !== undefined && size < limits.minBytes)) {
      throw err('TooSmall', size === 0 ? 'the file is empty' : `the file is smaller than ${limits.minBytes} bytes`);
    }
    if (text) text.end();
    if (parquet) parquet.end();
    if (gunzip) {
      const done = once(gunzip, 'end').catch(() => undefined);
      gunzip.end();
      await Promise.race([done, once(gunzip, 'close')]);
      if (gzipError) throw gzipError;
      if (!gunzip.readableEnded) throw err('GzipCorrupt', 'the gzip stream is truncated');
      gzipOut!.end();
    }
    await new Promise<void>((resolve, reject) => sink.end((e?: Error | null) => (e ? reject(e) : resolve())));
    return { size, md5Hex: await md5.digest(), format: format!, contentBytes: gzipOut ? gzipOut.bytes : size };
  } catch (e) {
    md5.abandon();
    gunzip?.destroy();
    if (e instanceof AppError) throw e;
    if (gzipError === e) throw err('GzipCorrupt', `the gzip stream is corrupt: ${(e as Error).message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error).message === 'aborted') {
      throw err('IncompleteBody', `the body ended after ${size} bytes: the connection was closed`);
    }
    throw e;
  }
}

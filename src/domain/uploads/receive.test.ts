import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { AppError } from '../../errors.js';
import { receiveStream, type ReceiveLimits } from './receive.js';

const limits: ReceiveLimits = { maxBytes: 10 << 20, gzipMaxRatio: 50, gzipRatioFloorBytes: 1 << 20 };

function sink() {
  const chunks: Buffer[] = [];
  return { w: new Writable({ write: (c, _e, cb) => (chunks.push(c), cb()) }), bytes: () => Buffer.concat(chunks) };
}

/** Splits a buffer into chunks of `size` so that boundaries fall mid-line and mid-character. */
function chunked(buf: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AppError, `expected an AppError, got ${e}`);
    return e;
  }
  assert.fail('expected a refusal');
}

const lines = Buffer.from(Array.from({ length: 2000 }, (_, i) => `${i.toString(16).padStart(32, '0')}\n`).join(''));

test('a text file passes through unchanged with its MD5 and size', async () => {
  const s = sink();
  const got = await receiveStream(chunked(lines, 4096), s.w, limits);
  assert.equal(got.format, 'text');
  assert.equal(got.size, lines.length);
  assert.equal(got.md5Hex, createHash('md5').update(lines).digest('hex'));
  assert.deepEqual(s.bytes(), lines);
});

test('gzip is recognised by its magic bytes and checked by decompressing it', async () => {
  const gz = gzipSync(lines);
  const got = await receiveStream(chunked(gz, 100), sink().w, limits);
  assert.equal(got.format, 'gzip');
  assert.equal(got.contentBytes, lines.length);
  assert.equal(got.size, gz.length);
});

test('a NUL byte anywhere makes the file binary, with its offset', async () => {
  const bad = Buffer.concat([lines, Buffer.from([0x41, 0x00, 0x0a])]);
  const e = await refusal(receiveStream(chunked(bad, 1000), sink().w, limits));
  assert.equal(e.code, 'NotAudienceFile');
  assert.match(e.message, new RegExp(`offset ${lines.length + 1}`));
});

test('invalid UTF-8 at the head is refused; a character split across chunks is not', async () => {
  const e = await refusal(receiveStream(Readable.from([Buffer.from([0x61, 0xff, 0xfe, 0x0a])]), sink().w, limits));
  assert.equal(e.code, 'NotAudienceFile');
  const cjk = Buffer.from('手机号\n13500000000\n'.repeat(10));
  const got = await receiveStream(chunked(cjk, 5), sink().w, limits);
  assert.equal(got.size, cjk.length);
});

test('a truncated gzip is refused as corrupt', async () => {
  const gz = gzipSync(lines);
  const e = await refusal(receiveStream(chunked(gz.subarray(0, gz.length - 20), 64), sink().w, limits));
  assert.equal(e.code, 'GzipCorrupt');
});

test('a gzip whose content is binary is refused', async () => {
  const e = await refusal(receiveStream(Readable.from([gzipSync(Buffer.alloc(1000))]), sink().w, limits));
  assert.equal(e.code, 'NotAudienceFile');
});

test('a gzip that expands past the ratio is refused while streaming', async () => {
  const bomb = gzipSync(Buffer.alloc(8 << 20, 'a\n'), { level: 9 });
  const e = await refusal(receiveStream(chunked(bomb, 1024), sink().w, { ...limits, gzipRatioFloorBytes: 1 << 16 }));
  assert.equal(e.code, 'GzipBomb');
});

test('more bytes than allowed are refused, and so is a declared length over the limit before reading', async () => {
  const e = await refusal(receiveStream(chunked(lines, 4096), sink().w, { ...limits, maxBytes: 1000 }));
  assert.equal(e.code, 'TooLarge');
  let read = false;
  const src = new Readable({ read() { read = true; this.push(null); } });
  const e2 = await refusal(receiveStream(src, sink().w, { ...limits, maxBytes: 1000, expectedBytes: 5000 }));
  assert.equal(e2.code, 'TooLarge');
  assert.equal(read, false);
});

test('a body shorter than its Content-Length is incomplete; an empty file is refused', async () => {
  const e = await refusal(receiveStream(chunked(lines, 4096), sink().w, { ...limits, expectedBytes: lines.length + 1 }));
  assert.equal(e.code, 'IncompleteBody');
  const e2 = await refusal(receiveStream(Readable.from([]), sink().w, limits));
  assert.equal(e2.code, 'TooSmall');
});

/** A stand-in with Parquet's shape at its ends: PAR1, binary bytes (NULs included), PAR1. */
const parquetLike = Buffer.concat([Buffer.from('PAR1'), Buffer.from([0, 1, 2, 0, 0xff, 0x15, 0x04]), lines.subarray(0, 300), Buffer.from([0x2c, 0, 0, 0]), Buffer.from('PAR1')]);
const parquetLimits: ReceiveLimits = { ...limits, content: 'parquet' };

test('a Parquet upload is checked for PAR1 at both ends instead of text, whatever the chunking', async () => {
  for (const size of [1, 3, 4, 5, 64, 4096]) {
    const s = sink();
    const got = await receiveStream(chunked(parquetLike, size), s.w, parquetLimits);
    assert.equal(got.format, 'parquet', `chunks of ${size}`);
    assert.equal(got.size, parquetLike.length);
    assert.deepEqual(s.bytes(), parquetLike);
  }
  for (const [what, body, where] of [
    ['text', lines, /does not start/],
    ['gzip of a Parquet file', gzipSync(parquetLike), /does not start/],
    ['a Parquet file cut short', parquetLike.subarray(0, parquetLike.length - 2), /does not end/],
    ['one PAR1 alone', Buffer.from('PAR1'), /4 bytes, too short/],
    ['PAR1 twice, overlapping', Buffer.from('PAR1AR1'), /7 bytes, too short/],
    ['PAR1 first only', Buffer.concat([Buffer.from('PAR1'), lines.subarray(0, 100)]), /does not end/],
  ] as const) {
    for (const size of [1, 4096]) {
      const e = await refusal(receiveStream(chunked(body, size), sink().w, parquetLimits));
      assert.equal(e.code, 'NotAudienceFile', what);
      assert.match(e.message, where, `${what}, chunks of ${size}`);
    }
  }
});

test('a text event upload gets the text checks, refused in the words of event files', async () => {
  const got = await receiveStream(chunked(gzipSync(lines), 100), sink().w, { ...limits, content: 'event-text' });
  assert.equal(got.format, 'gzip');
  const e = await refusal(receiveStream(chunked(parquetLike, 64), sink().w, { ...limits, content: 'event-text' }));
  assert.equal(e.code, 'NotAudienceFile');
  assert.match(e.message, /NUL byte at offset 4\); .*upload a Parquet file under a \.parquet name/);
});

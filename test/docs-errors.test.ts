// docs/errors.md lists every error code the service can answer: each code of
// the registry with its status, each row of every dialect's error map, and
// each vendor code a signature check refuses with directly. A code added to
// the code but not to the page fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../src/errors.js';
import { CODES as aliyunCodes } from '../src/http/dialects/aliyun/errors.js';
import { CODES as mintegralCodes } from '../src/http/dialects/mintegral/errors.js';
import { ADS_CODES, BY_FIELD } from '../src/http/dialects/tencent-ads/errors.js';
import { CODES as tencentCloudCodes } from '../src/http/dialects/tencent-cloud/errors.js';
import { MAPS as storeMaps } from '../src/http/store/errors.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');

/** The table rows (cells trimmed) under the `## ` heading that starts with `heading`. */
function rows(heading: string): string[][] {
  const sections = doc.split(/^## /m).slice(1);
  const section = sections.find((s) => s.startsWith(heading));
  assert.ok(section, `docs/errors.md has no section "## ${heading}"`);
  return section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

const code = (c: string) => `\`${c}\``;

/** True when one row has a cell naming each of `cells` (a code in backticks, or a number alone). */
function hasRow(table: string[][], cells: Array<string | number>): boolean {
  return table.some((row) =>
    cells.every((want) => (typeof want === 'number' ? row.includes(String(want)) : row.some((cell) => cell.includes(code(want))))),
  );
}

function missingRows<V>(heading: string, map: Partial<Record<string, V>>, cellsOf: (ours: string, v: V) => Array<string | number>): string[] {
  const table = rows(heading);
  return Object.entries(map)
    .filter(([ours, v]) => !hasRow(table, cellsOf(ours, v as V)))
    .map(([ours, v]) => `${ours} → ${JSON.stringify(v)}`);
}

test('every code of the registry is in the catalogue with its status', () => {
  const table = rows('The catalogue');
  const missing = Object.entries(ErrorCodes)
    .filter(([c, { status }]) => !hasRow(table, [c, status]))
    .map(([c, { status }]) => `${c} (${status})`);
  assert.deepEqual(missing, [], 'add these rows to the catalogue in docs/errors.md');
});

test("every row of Mintegral's error map is documented", () => {
  assert.deepEqual(missingRows('Mintegral', mintegralCodes, (ours, n) => [ours, n]), []);
});

test("every row of Tencent Ads' error maps is documented", () => {
  assert.deepEqual(missingRows('Tencent Marketing API', ADS_CODES, (ours, [n]) => [ours, n]), []);
  assert.deepEqual(
    missingRows('Tencent Marketing API', BY_FIELD, (key, [n]) => {
      const [ours, field] = key.split(':');
      return [ours, field, n];
    }),
    [],
  );
});

test("every row of Tencent Cloud's error map is documented", () => {
  assert.deepEqual(missingRows('Tencent Cloud', tencentCloudCodes, (ours, vendor) => [ours, vendor]), []);
});

test("every row of Aliyun's error map is documented with its status", () => {
  assert.deepEqual(missingRows('Alibaba Cloud', aliyunCodes, (ours, [vendor, status]) => [ours, vendor, status]), []);
});

test("every row of the embedded store's error maps is documented with its status", () => {
  for (const protocol of ['s3', 'cos', 'oss'] as const) {
    const missing = missingRows('Embedded store', storeMaps[protocol], (ours, [vendor, status]) => [ours, vendor, status]);
    assert.deepEqual(missing, [], `${protocol} rows missing from the embedded store table`);
  }
});

/** Literal vendor codes passed to `new SignatureError('…'` or Tencent Cloud's `tcError('…'` in the non-test sources. */
function signatureCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(/(?:new SignatureError|tcError)\(\s*'([^']+)'/g)) found.set(m[1], full.slice(ROOT.length));
      }
    }
  };
  walk(join(ROOT, 'src'));
  return found;
}

test('every vendor code a signature check answers with is documented', () => {
  const codes = signatureCodes();
  assert.ok(codes.size > 10, 'the scan found the signature checks');
  const missing = [...codes].filter(([c]) => !doc.includes(code(c))).map(([c, file]) => `${c} (${file})`);
  assert.deepEqual(missing, [], 'add these codes to docs/errors.md');
});

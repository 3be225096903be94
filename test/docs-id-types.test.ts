// docs/id-types.md lists every id type of the registry, with its rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ID_TYPE_NAMES, ID_TYPES } from '../src/domain/identities/index.js';
import { ROOT } from './support/vendor-clients.js';

test('docs/id-types.md has one row per registry type, with its family, kind and rule', () => {
  const doc = readFileSync(`${ROOT}/docs/id-types.md`, 'utf8');
  const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
  assert.equal(rows.length, ID_TYPE_NAMES.length);
  for (const n of ID_TYPE_NAMES) {
    const e = ID_TYPES[n];
    assert.ok(rows.includes(`| \`${n}\` | ${e.family} | ${e.kind} | ${e.label} |`), `${n} is missing or out of date`);
  }
});

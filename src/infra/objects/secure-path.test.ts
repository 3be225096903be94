import { test } from 'node:test';
import assert from 'node:assert/strict';
import { securePath } from './secure-path.js';

test('keys stay inside the store root whatever they contain', () => {
  assert.equal(securePath('/data/objects/b', 'a/b/c.txt'), '/data/objects/b/a/b/c.txt');
  for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a/\0b', '', '.', 'a/..']) {
    assert.throws(() => securePath("/data/objects/b", key), Error, `key ${JSON.stringify(key)} must be refused`);
  }
});

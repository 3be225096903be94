// Shared assertions for the protocol verifiers' tests.
import assert from 'node:assert/strict';
import { SignatureError } from '../../src/protocols/types.js';

/** Asserts that `fn` refuses with the vendor's code and HTTP status (and message, when given). */
export function refused(fn: () => unknown, code: string, status: number, message?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SignatureError, `expected SignatureError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status);
    if (message !== undefined) assert.equal(err.message, message);
    return true;
  });
}

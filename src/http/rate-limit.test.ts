import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from './rate-limit.js';

function limiter(perSecond: number) {
  const clock = { ms: 1_700_000_000_000 };
  return { clock, rl: new RateLimiter(perSecond, () => clock.ms) };
}

test('at most N calls in any one-second window, even when they are spread over it', () => {
  const { clock, rl } = limiter(20);
  const start = clock.ms;
  // 20 calls over 950 ms: a token bucket would have refilled about 19 tokens by now.
  for (let i = 0; i < 20; i++) {
    clock.ms = start + i * 50;
    assert.equal(rl.take('acct:CreateUploadUrl'), true, `call ${i + 1}`);
  }
  clock.ms = start + 960;
  assert.equal(rl.take('acct:CreateUploadUrl'), false);
  // The first call leaves the window at start + 1000; then exactly one more fits.
  clock.ms = start + 1000;
  assert.equal(rl.take('acct:CreateUploadUrl'), true);
  assert.equal(rl.take('acct:CreateUploadUrl'), false);
});

test('keys are counted apart', () => {
  const { rl } = limiter(2);
  assert.equal(rl.take('a'), true);
  assert.equal(rl.take('a'), true);
  assert.equal(rl.take('a'), false);
  assert.equal(rl.take('b'), true);
});

test('a refused call does not count against the window', () => {
  const { clock, rl } = limiter(1);
  const start = clock.ms;
  assert.equal(rl.take('k'), true);
  clock.ms = start + 500;
  assert.equal(rl.take('k'), false);
  clock.ms = start + 1000;
  assert.equal(rl.take('k'), true);
});

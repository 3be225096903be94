import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPrivateAddress, isPrivateHost, publicOnlyLookup } from './public-address.js';

test('loopback, private, link-local, CGNAT, multicast and unspecified addresses are private', () => {
  for (const a of ['127.0.0.1', '10.0.0.1', '172.20.1.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1']) {
    assert.equal(isPrivateAddress(a), true, a);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
    assert.equal(isPrivateAddress(a), false, a);
  }
  assert.equal(isPrivateHost('localhost'), true);
  assert.equal(isPrivateHost('api.localhost'), true);
  assert.equal(isPrivateHost('[::1]'), true);
  assert.equal(isPrivateHost('example.com'), false);
});

test('a name that resolves to a private address is refused at connection time', async () => {
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('localhost', {}, (e) => resolve(e)));
  assert.equal(err?.code, 'EPRIVATEADDRESS');
  assert.match(err!.message, /callbackAllowPrivateAddresses/);
});

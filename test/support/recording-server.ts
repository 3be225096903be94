// A throwaway HTTP server on loopback that records every request a vendor's
// client sends, so the protocol verifiers can be checked against what the
// vendor's own code signs.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SignedRequest } from '../../src/protocols/types.js';

export interface Received {
  msg: IncomingMessage;
  /** The request as the verifiers read it (path and query raw, as sent). */
  req: SignedRequest;
  body: Buffer;
}

export function signedRequestOf(msg: IncomingMessage): SignedRequest {
  const url = msg.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: msg.method ?? 'GET',
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: { ...msg.headers },
  };
}

/** Runs `work` against a fresh server on 127.0.0.1:`port` and returns every request it received, in order. */
export async function recordRequests(work: (port: number) => Promise<void>, answer: (r: Received, res: ServerResponse) => void): Promise<Received[]> {
  const seen: Received[] = [];
  const server = createServer((msg, res) => {
    const chunks: Buffer[] = [];
    msg.on('data', (c: Buffer) => chunks.push(c));
    msg.on('end', () => {
      const r = { msg, req: signedRequestOf(msg), body: Buffer.concat(chunks) };
      seen.push(r);
      answer(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await work((server.address() as AddressInfo).port);
  } finally {
    server.close();
  }
  return seen;
}

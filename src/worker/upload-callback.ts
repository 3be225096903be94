// Delivers one upload callback: POST the prepared JSON body to the client's
// URL, signed with the secret of the access key that created the upload, and
// record the attempt whatever its outcome. A non-2xx answer or no answer
// throws, so the job runner retries with backoff.
//
// Signature (docs/dialects.md, "Callbacks"):
//   X-AudienceHub-Timestamp: unix seconds of this attempt
//   X-AudienceHub-Signature: hex HMAC-SHA256(key secret, `${timestamp}.${body}`)
//   X-AudienceHub-Key-Id:    the access key id whose secret signed it
//   X-AudienceHub-Event-Id:  the same on every retry of one event (for de-duplication)
// A receiver recomputes the HMAC over the raw body and refuses stale timestamps.
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { App } from '../app.js';
import type { UploadCallbackPayload } from './catalog.js';
import { isPrivateHost, publicOnlyLookup } from '../infra/net/public-address.js';
import type { JobContext } from './jobs.js';

/** The receiver gets this long to answer before the attempt counts as failed. */
export const CALLBACK_TIMEOUT_MS = 10_000;

export function signCallback(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

interface Outcome {
  responseStatus?: number;
  error?: string;
}

/**
 * One POST through node:http(s), so that the address the name resolves to is
 * checked at connection time (see src/infra/net/public-address.ts). Redirects are not
 * followed: the signature was made for this URL's owner.
 */
function post(url: string, headers: Record<string, string>, body: string, allowPrivate: boolean): Promise<Outcome> {
  const u = new URL(url);
  if (!allowPrivate && isPrivateHost(u.hostname)) {
    return Promise.resolve({ error: `${u.hostname} is a private address; callbacks there need ice.callbackAllowPrivateAddresses` });
  }
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      u,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        lookup: allowPrivate ? undefined : (publicOnlyLookup as never),
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 300 ? { responseStatus: status } : { responseStatus: status, error: `the receiver answered HTTP ${status}` });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError' || e.name === 'TimeoutError') resolve({ error: `no answer within ${CALLBACK_TIMEOUT_MS / 1000} s` });
      else resolve({ error: e.code === 'EPRIVATEADDRESS' ? e.message : (e.code ?? e.message) });
    });
    req.end(body);
  });
}

export function uploadCallbackHandler(app: App) {
  return async (p: UploadCallbackPayload, ctx: JobContext): Promise<void> => {
    // A deleted upload takes its callbacks with it; nothing is left to tell.
    const upload = await app.uploads.byId(p.uploadId);
    if (!upload) return;
    const key = await app.accounts.findKey(p.keyId);
    if (!key) throw new Error(`access key ${p.keyId} no longer exists; the callback cannot be signed`);
    const timestamp = Math.floor(app.now() / 1000);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'user-agent': 'AudienceHub-Callback/1',
      'x-audiencehub-timestamp': String(timestamp),
      'x-audiencehub-signature': signCallback(key.secret, timestamp, p.body),
      'x-audiencehub-key-id': key.accessKeyId,
      'x-audiencehub-event-id': String(ctx.jobId),
    };
    const out = await post(p.url, headers, p.body, app.config.ice.callbackAllowPrivateAddresses);
    await app.callbacks.record({
      uploadId: p.uploadId,
      event: p.event,
      url: p.url,
      attempt: ctx.attempt,
      status: out.error ? 'failed' : 'delivered',
      responseStatus: out.responseStatus,
      error: out.error,
    });
    if (out.error) throw new Error(out.error);
  };
}

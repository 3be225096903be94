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
import type { App } from '../app.js';
import type { UploadCallbackPayload } from './catalog.js';
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

async function post(url: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  try {
    // Redirects are not followed: the signature was made for this URL's owner.
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS) });
    await res.body?.cancel().catch(() => undefined);
    return res.ok ? { responseStatus: res.status } : { responseStatus: res.status, error: `the receiver answered HTTP ${res.status}` };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') return { error: `no answer within ${CALLBACK_TIMEOUT_MS / 1000} s` };
    return { error: err.cause?.code ?? err.cause?.message ?? err.message };
  }
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
    const out = await post(p.url, headers, p.body);
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

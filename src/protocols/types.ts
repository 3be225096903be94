// The protocol verifiers work on a plain description of an HTTP request so that
// they can be called from any server (and tested without one).

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface SignedRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** Path exactly as it appeared on the request line, still percent-encoded, without the query. */
  rawPath: string;
  /** Query string as it appeared on the request line, without the leading `?` ('' when none). */
  rawQuery: string;
  /** Header names lower-cased (Node's IncomingMessage.headers shape). */
  headers: HeaderMap;
}

/** A verifier's refusal: `code` is the vendor's own error code, `status` its HTTP status. */
export class SignatureError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 403,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

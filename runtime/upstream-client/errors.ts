/**
 * The errors the upstream client reports through `handler.onError`. Each has a `code`;
 * runtime/forward/upstream-error.ts turns it into the client's status and the logged reason,
 * and runtime/forward/retry-rules.ts into an outcome for retries and passive health. Socket
 * errors (ECONNREFUSED, ECONNRESET, EPIPE, ENOTFOUND, TLS errors…) are passed on as Node
 * raised them.
 */

export type UpstreamErrorCode =
  /** No TCP (or TLS) connection within `connectTimeout`. */
  | 'SWITCHYARD_CONNECT_TIMEOUT'
  /** No complete response head within `headersTimeout` of sending the request. */
  | 'SWITCHYARD_HEADERS_TIMEOUT'
  /** No response body bytes for `bodyTimeout` while the body was wanted. */
  | 'SWITCHYARD_BODY_TIMEOUT'
  /** The upstream closed the connection before the response was complete. */
  | 'SWITCHYARD_UPSTREAM_CLOSED'
  /** What the upstream sent is not a valid HTTP/1.1 response (the message says why). */
  | 'SWITCHYARD_BAD_UPSTREAM_RESPONSE'
  /** The request cannot be sent as given (invalid method, target or header). */
  | 'SWITCHYARD_BAD_UPSTREAM_REQUEST'
  /** The request body stream failed, ended early or did not match its Content-Length. */
  | 'SWITCHYARD_REQUEST_BODY'
  /** The pool was closed or destroyed. */
  | 'SWITCHYARD_POOL_CLOSED'
  /** `abort()` without a reason. */
  | 'SWITCHYARD_ABORTED'

export class UpstreamClientError extends Error {
  constructor(readonly code: UpstreamErrorCode, message: string) {
    super(message)
    this.name = 'UpstreamClientError'
  }
}

export function badResponse(reason: string): UpstreamClientError {
  return new UpstreamClientError('SWITCHYARD_BAD_UPSTREAM_RESPONSE', `invalid upstream response (${reason})`)
}

/** A request body stream's error, as the request's. */
export function requestBodyError(err: Error): UpstreamClientError {
  return Object.assign(new UpstreamClientError('SWITCHYARD_REQUEST_BODY', `request body: ${err.message}`), { cause: err })
}

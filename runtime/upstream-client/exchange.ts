/** One dispatched request: what to send, its handler, and where it is (queued, on a connection, done). */
import type { Readable } from 'node:stream'
import type { UpstreamHandler, UpstreamRequest } from './types.js'
import type { PreparedHead } from './request-head.js'
import type { Connection } from './connection.js'
import { requestBodyError } from './errors.js'

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])

/**
 * Idempotent methods (RFC 9110 §9.2.2): a stale keep-alive connection may be retried for them
 * here, and the forwarder's retry rules (forward/retry-rules.ts) use the same list.
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method)
}

export interface ExchangeOwner {
  abort(exchange: Exchange, err: Error | undefined): void
}

export class Exchange implements PreparedHead {
  start = ''
  fields = ''
  declaredLength = -1
  readonly method: string
  readonly body: Buffer | Readable | null
  /** The connection running it (undefined while queued or waiting for an idle connection's check). */
  conn: Connection | undefined
  /** onComplete or onError was called (or is being called): nothing more happens. */
  done = false
  /** Already sent again after a stale keep-alive connection failed it. */
  retried = false
  /** Handed to the handler's onConnect; one closure per request, valid wherever the request is. */
  readonly abort: (err?: Error) => void

  constructor(owner: ExchangeOwner, readonly handler: UpstreamHandler, request: UpstreamRequest) {
    this.method = request.method
    this.body = request.body
    this.abort = (err) => owner.abort(this, err)
    // A stream body is read only once connected; an error before that (or after the exchange)
    // ends the request instead of becoming an uncaught exception.
    if (this.streamed) (this.body as Readable).on('error', (err) => this.abort(requestBodyError(err)))
  }

  /** Whether the body is a stream (sent once, never replayed). */
  get streamed(): boolean {
    return this.body !== null && !(this.body instanceof Uint8Array)
  }

  /**
   * May it be sent again on a fresh connection when a reused one failed before any response
   * byte? Only idempotent methods with no body or a Buffer body: see Connection's stale retry.
   */
  get replayable(): boolean {
    return !this.retried && isIdempotent(this.method) && !this.streamed
  }
}

/**
 * A request with a Content-Length body, read by the fast front (fast-front.ts). It is a real
 * node:http IncomingMessage, so whatever reads a body — the upstream client, a handler's or
 * hook's Web Request, a retry's buffer — and the body guard (body-guard.ts) take it as they take
 * node:http's own. The fast front feeds it as node:http's parser feeds its requests: body bytes
 * through `push` (where the guard counts them), `complete` then `push(null)` at the end, nothing
 * pushed once the body is dumped (`_dumped`: answered, nobody reading), and destroyed with
 * node:http's `aborted` error (ECONNRESET) when the client goes before the response is done.
 */
import { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { teNamesChunked } from './fast-exchange.js'

/** The connection reading the body. */
export interface BodySource {
  /** A reader wants more of the body: restart the socket if the body paused it. */
  bodyWanted(): void
}

/** IncomingMessage's internals used here (Node 20; test/core/request-body.test.ts checks them). */
interface IncomingInternals {
  _addHeaderLines(headers: string[], n: number): void
  _consuming: boolean
  _dumped: boolean
}

export class FastBodyRequest extends IncomingMessage {
  constructor(method: string, url: string, rawHeaders: string[], socket: Socket, minor: 1 | 0, readonly source: BodySource) {
    super(socket)
    this.method = method
    this.url = url
    this.httpVersionMajor = 1
    this.httpVersionMinor = minor
    this.httpVersion = minor === 1 ? '1.1' : '1.0'
    // As node:http's parser sets them: `headers` is then built from rawHeaders on first use.
    ;(this as unknown as IncomingInternals)._addHeaderLines(rawHeaders, rawHeaders.length)
  }

  /** Whether a response of unknown length may be sent chunked (else it is delimited by the close). */
  get takesChunked(): boolean {
    return this.httpVersionMinor === 1 || teNamesChunked(this.headers.te)
  }

  /** The last body byte has been pushed (node:http's parser: `complete`, then the end of the stream). */
  endBody(): void {
    this.complete = true
    this.push(null)
  }

  /** Somebody reads the body (node:http's test for dumping an unread body when the response is done). */
  get consuming(): boolean {
    return (this as unknown as IncomingInternals)._consuming || this.readableFlowing === true
  }

  /** Body bytes are dropped from now on (node:http's `_dump`): the response is done and nobody reads. */
  get dumped(): boolean {
    return (this as unknown as IncomingInternals)._dumped
  }

  dump(): void {
    ;(this as unknown as IncomingInternals)._dumped = true
    this.removeAllListeners('data')
    this.resume()
  }

  override _read(size: number): void {
    super._read(size) // (marks the body consumed, and resumes the socket)
    this.source.bodyWanted()
  }

  /** The connection went away before the response was done (node:http's abortIncoming). */
  clientGone(): void {
    if (this.destroyed) return
    const err = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
    this.destroy(err)
  }
}

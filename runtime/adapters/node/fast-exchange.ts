/**
 * The request and response of the fast front (fast-front.ts): the part of node:http's
 * IncomingMessage and ServerResponse that the data plane uses — forwarding, the cache, hooks
 * and handlers (writeHead with a flat list, write, end, destroy, 'drain'/'close', headersSent,
 * destroyed, writableFinished, shouldKeepAlive; the request's method, url, rawHeaders, headers,
 * socket) — and nothing more. This request has no body, so there is no stream to offer; a request
 * with a Content-Length body is a FastBodyRequest (fast-body-request.ts), a real IncomingMessage.
 *
 * The response is written the way node:http writes it: the head and whatever follows in the
 * same tick in one corked write; `Date`, `Connection: keep-alive` and `Keep-Alive: timeout=N`
 * added (or `Connection: close`); chunked framing when the length is unknown, or for an HTTP/1.0
 * client that does not take chunks, no framing and a close; no body for HEAD, 1xx, 204 and 304.
 */
import { EventEmitter } from 'node:events'
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import { asksToClose } from '../../forward/hop-by-hop.js'
import { corkForThisTurn, uncork } from '../../stream-buffer.js'
import type { FastBodyRequest } from './fast-body-request.js'

/** What the response tells its connection. */
export interface ExchangeOwner {
  readonly socket: Socket
  /** `Keep-Alive: timeout=N` (seconds), or '' to leave it out. */
  readonly keepAliveHeader: string
  /** The listener is shutting down: the connection closes after this response. */
  readonly closing: boolean
  /** The response is written and flushed (`close`: the connection must close after it). */
  responseDone(res: FastResponse, close: boolean): void
}

/** Fields of which node:http keeps the first line only (IncomingMessage, joinDuplicateHeaders off). */
const SINGLE_FIELDS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization',
  'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag',
  'last-modified', 'server', 'age', 'expires',
])

/** As node:http: an HTTP/1.0 client takes a chunked response only when its `TE` names chunked. */
const CHUNKED_TE = /(?:^|\W)chunked(?:$|\W)/i

/** An HTTP/1.0 client's `TE` asks for chunked responses (HTTP/1.1 clients always take them). */
export function teNamesChunked(te: string | string[] | undefined): boolean {
  return typeof te === 'string' && CHUNKED_TE.test(te)
}

/** A request the fast front serves: without a body, or with a Content-Length one. */
export type FastExchangeRequest = FastRequest | FastBodyRequest

/** A bodiless HTTP/1.1 or HTTP/1.0 request parsed by the fast front. */
export class FastRequest {
  readonly httpVersion: '1.1' | '1.0'
  readonly httpVersionMajor = 1
  readonly httpVersionMinor: 1 | 0
  /** The body (none) has been read: for code that asks whether the client finished sending. */
  readonly complete = true
  readonly readableEnded = true
  readonly errored = null
  destroyed = false
  #headers: IncomingHttpHeaders | undefined

  constructor(readonly method: string, public url: string, readonly rawHeaders: string[], readonly socket: Socket, minor: 1 | 0 = 1) {
    this.httpVersionMinor = minor
    this.httpVersion = minor === 1 ? '1.1' : '1.0'
  }

  /** Whether a response of unknown length may be sent chunked (else it is delimited by the close). */
  get takesChunked(): boolean {
    return this.httpVersionMinor === 1 || teNamesChunked(this.headers.te)
  }

  /** The connection went away before the response was done. */
  clientGone(): void {
    this.destroyed = true
  }

  /**
   * Built on first use (the forward path reads rawHeaders only), with node:http's rules for
   * repeated fields, which the cache's Vary and Cache-Control reading rely on: joined with ', '
   * (Cookie with '; '), Set-Cookie a list, and the first kept for the fields node:http keeps once.
   */
  get headers(): IncomingHttpHeaders {
    if (this.#headers !== undefined) return this.#headers
    const headers: Record<string, string | string[]> = {}
    const raw = this.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase()
      const value = raw[i + 1]!
      const seen = headers[name]
      if (name === 'set-cookie') (seen === undefined ? (headers[name] = []) : (seen as string[])).push(value)
      else if (seen === undefined) headers[name] = value
      else if (name === 'cookie') headers[name] = `${seen as string}; ${value}`
      else if (!SINGLE_FIELDS.has(name)) headers[name] = `${seen as string}, ${value}`
    }
    return (this.#headers = headers as IncomingHttpHeaders)
  }
}

let dateHeader = ''
let dateSecond = 0

/** `Date: …\r\n`, made at most once a second (as node:http does). */
function date(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateHeader = `Date: ${new Date(now).toUTCString()}\r\n`
  }
  return dateHeader
}

const EMPTY = Buffer.alloc(0)
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1')
const CRLF = Buffer.from('\r\n', 'latin1')

/** Emits 'drain', 'finish' (flushed) and 'close' (flushed, or the client went away), as ServerResponse does. */
export class FastResponse extends EventEmitter {
  statusCode = 200
  headersSent = false
  writableEnded = false
  writableFinished = false
  destroyed = false
  #head = ''
  #chunked = false
  #bodyAllowed = true
  /** Close the connection after this response (`Connection: close` asked for one). */
  #close = false
  /** This response corked the socket until the end of the loop's turn (see #corked). */
  #heldToEndOfTurn = false

  constructor(readonly req: FastExchangeRequest, readonly owner: ExchangeOwner) {
    super()
  }

  get socket(): Socket {
    return this.owner.socket
  }

  /** Bytes written and not yet out (as ServerResponse's: its socket's). */
  get writableLength(): number {
    return this.owner.socket.writableLength
  }

  /** false: the connection closes after this response (a Response that said `Connection: close`). */
  get shouldKeepAlive(): boolean {
    return !this.#close
  }

  set shouldKeepAlive(keep: boolean) {
    if (!keep) this.#close = true
  }

  /** Only `connection: close` is ever set on a fast response (the runtime, while shutting down). */
  setHeader(name: string, value: string): this {
    if (name.toLowerCase() !== 'connection' || value.toLowerCase() !== 'close') {
      throw new Error(`fast front: unexpected setHeader(${name})`)
    }
    this.#close = true
    return this
  }

  /**
   * `headers`: flat [name, value, …], already valid: parsed by llhttp (upstream, cache), checked
   * in config, or validated where a Web Response is flattened (sendWebResponse, flatWebHeaders).
   */
  writeHead(status: number, headers: readonly string[]): this {
    if (this.headersSent) throw new Error('headers already sent')
    // As ServerResponse (an onUpstreamResponse hook may set any number): the caller answers 502.
    if (!(status >= 100 && status <= 999)) throw Object.assign(new RangeError(`Invalid status code: ${status}`), { code: 'ERR_HTTP_INVALID_STATUS_CODE' })
    this.statusCode = status
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`
    let hasContentLength = false
    let hasEncoding = false
    let hasDate = false
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!
      const value = headers[i + 1]!
      head += `${name}: ${value}\r\n`
      switch (name.length) {
        case 4: if (name.toLowerCase() === 'date') hasDate = true; break
        case 10: if (name.toLowerCase() === 'connection' && asksToClose(value)) this.#close = true; break
        case 14: if (name.toLowerCase() === 'content-length') hasContentLength = true; break
        // A framing header that reached here anyway is the message's own: keep it, add none.
        case 17: if (name.toLowerCase() === 'transfer-encoding') hasEncoding = true; break
      }
    }
    if (!hasDate) head += date()
    if (this.owner.closing) this.#close = true
    const chunkedOk = this.req.takesChunked
    // As node:http: the connection is kept only when the next message can be found, by a
    // Content-Length or chunked framing (an HTTP/1.0 client may not take chunks).
    if (!hasContentLength && !chunkedOk) this.#close = true
    // In node:http's order: Date, Connection (and Keep-Alive), then the framing it adds.
    const keepAlive = this.owner.keepAliveHeader
    head += this.#close ? 'Connection: close\r\n' : `Connection: keep-alive\r\n${keepAlive}`
    this.#bodyAllowed = this.req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200
    if (this.#bodyAllowed && !hasContentLength && !hasEncoding && chunkedOk) {
      this.#chunked = true
      head += 'Transfer-Encoding: chunked\r\n\r\n'
    } else head += '\r\n' // (no length and no chunks: the body ends at the close)
    this.#head = head
    this.headersSent = true
    return this
  }

  /** An interim (1xx) response, before the head: written at once (interim.ts checks when one may be sent). */
  writeInterim(head: string): void {
    if (this.headersSent || this.destroyed) return
    this.owner.socket.write(head, 'latin1')
  }

  write(chunk: Uint8Array): boolean {
    if (this.destroyed || this.writableEnded) return false
    const socket = this.#corked(true)
    if (!this.#bodyAllowed || chunk.byteLength === 0) return socket.writableNeedDrain === false
    let ok: boolean
    if (this.#chunked) {
      socket.write(`${chunk.byteLength.toString(16)}\r\n`, 'latin1')
      socket.write(chunk)
      ok = socket.write(CRLF)
    } else ok = socket.write(chunk)
    if (ok || !this.#heldToEndOfTurn) return ok
    // What this turn held reached the high-water mark: send it now rather than pause the
    // upstream until the end of the turn (a 1 MiB response paused it every 128 KiB: 8 stops
    // and restarts of its reading). Backpressure only if the client did not take it.
    this.#heldToEndOfTurn = false
    socket.uncork()
    return socket.writableLength < socket.writableHighWaterMark
  }

  end(chunk?: Uint8Array): this {
    if (this.destroyed || this.writableEnded) return this
    if (chunk !== undefined && chunk.byteLength > 0) this.write(chunk)
    const socket = this.#corked()
    this.writableEnded = true
    // The callback of the last write says when the whole response is flushed.
    socket.write(this.#chunked && this.#bodyAllowed ? LAST_CHUNK : EMPTY, this.#flushed)
    return this
  }

  /** Aborts the connection, unless this response is finished (the connection may be serving the next one). */
  destroy(): this {
    if (!this.destroyed && !this.writableFinished) this.owner.socket.destroy()
    return this
  }

  // ---- from the connection ----

  /** The socket drained. */
  drained(): void {
    this.emit('drain')
  }

  /** The connection went away before this response was flushed. */
  aborted(): void {
    if (this.destroyed || this.writableFinished) return
    this.destroyed = true
    this.req.clientGone()
    this.emit('close')
  }

  /**
   * Corks the socket and sends the head first. The end of a response is flushed at the end of
   * this tick, as node:http does. Body written before the end is held until the end of this
   * turn of the event loop (setImmediate): libuv reads an upstream socket again at once when a
   * read filled its 64 KiB buffer, so a 64 KiB response arrives as two reads in one turn, and
   * flushing after each made two writes to the client where one does (issue #6: 64 KiB
   * responses 1 write instead of 2, ~10 % less CPU per request).
   */
  #corked(midResponse = false): Socket {
    const socket = this.owner.socket
    if (midResponse) {
      if (corkForThisTurn(socket)) this.#heldToEndOfTurn = true
    } else if (socket.writableCorked === 0) {
      socket.cork()
      this.#heldToEndOfTurn = false
      process.nextTick(uncork, socket)
    } else if (this.#heldToEndOfTurn) {
      // The end arrived in the same turn: flush with it, not later. (The pending setImmediate
      // then finds the socket uncorked, or flushes a pipelined response early: harmless.)
      this.#heldToEndOfTurn = false
      process.nextTick(uncork, socket)
    }
    if (this.#head !== '') {
      socket.write(this.#head, 'latin1')
      this.#head = ''
    } else if (!this.headersSent) {
      this.writeHead(this.statusCode, [])
      return this.#corked(midResponse)
    }
    return socket
  }

  readonly #flushed = (err?: Error | null): void => {
    if (err || this.destroyed) return // the connection's close reports it
    this.writableFinished = true
    this.emit('finish') // (the body guard's cue, as on node:http's response)
    this.emit('close')
    this.owner.responseDone(this, this.#close)
  }
}

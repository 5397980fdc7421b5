/**
 * The fast front: reads every new connection of a listener itself, with llhttp (the parser
 * node:http uses, strict, from undici's wasm build), and serves the requests that need nothing
 * of node:http — HTTP/1.1 or 1.0 (keep-alive or not), no body or a Content-Length one, no
 * `Expect`, no upgrade, a `Host` — on any route, without node:http's per-request machinery
 * (about a fifth of the CPU of a small forwarded request; for a connection per request, the
 * hand-off and node:http's per-connection set-up cost more than the request itself). A body is
 * counted here, not parsed (llhttp is told the message ends with its head and resumed after
 * it), and pushed into its request (a FastBodyRequest, a real IncomingMessage) as it arrives;
 * the socket is paused while the body's reader is behind. The next request on the connection is
 * parsed once both the response and the body are done: a body still arriving when its response
 * is done is read on by its reader, or dropped if nobody reads it (as node:http does).
 *
 * Anything else, and anything llhttp refuses, is handed to node:http: the bytes of that request
 * and all that follows are put back in the socket and the socket given to node:http as a new
 * connection, which then serves (or refuses, with exactly the status node:http gives) it and
 * keeps the connection to the end. So a request is either served here or parsed afresh by
 * node:http from its first byte; a connection never goes back.
 *
 * Pipelined requests are parsed one at a time: the next only after the response before it
 * is flushed. While a request head is incomplete `headersTimeout` runs (408, as node:http);
 * between requests `keepAliveTimeout`. Both are checked by one interval per listener.
 */
import type { Socket } from 'node:net'
import { RequestParser, PARSE_OK, PARSE_PAUSED, type ParserHost } from '../../upstream-client/llhttp.js'
import { FastRequest, FastResponse, type ExchangeOwner, type FastExchangeRequest } from './fast-exchange.js'
import { FastBodyRequest, type BodySource } from './fast-body-request.js'
import { destroyWhenFlushed, lingerUntilClientCloses } from './lingering-close.js'
import { asksToClose } from '../../forward/hop-by-hop.js'

export interface FastFrontOptions {
  headersTimeout: number
  keepAliveTimeout: number
  maxHeaderSize: number
  /** How often the timeouts are checked (ms). */
  checkInterval: number
}

export interface FastFrontHost {
  /** Serves the request and returns true, or returns false (having done nothing) to hand it to node:http. */
  serve(req: FastExchangeRequest, res: FastResponse): boolean
  /** Gives `socket` to node:http, `bytes` first (the request it is to parse from its start). */
  handOff(socket: Socket, bytes: Buffer): void
  /** A head did not arrive within headersTimeout: the 408 to send. */
  timedOut(socket: Socket): string
}

/** Bytes of pipelined requests held while a response is in flight; past this the socket is paused. */
const MAX_QUEUED = 64 * 1024
/**
 * As node:http (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER): an idle connection outlives the timeout
 * it advertises by 1 s, so a client reusing it near that limit is not reset.
 */
const KEEP_ALIVE_BUFFER = 1000
/** An incomplete head may hold this much more than maxHeaderSize before node:http takes it over. */
const PARTIAL_MARGIN = 8 * 1024

export class FastFront {
  /** Coarse clock (performance.now() ms), updated by the check interval and on each connection. */
  now = performance.now()
  closing = false
  readonly keepAliveHeader: string
  readonly #connections = new Set<FastConnection>()
  #timer: NodeJS.Timeout | undefined

  constructor(readonly options: FastFrontOptions, readonly host: FastFrontHost) {
    // As node:http writes it (seconds, rounded down), after `Connection: keep-alive`.
    this.keepAliveHeader = options.keepAliveTimeout > 0 ? `Keep-Alive: timeout=${Math.floor(options.keepAliveTimeout / 1000)}\r\n` : ''
  }

  accept(socket: Socket): void {
    this.now = performance.now()
    this.#connections.add(new FastConnection(this, socket))
    this.#timer ??= setInterval(() => this.#check(), this.options.checkInterval).unref()
  }

  release(conn: FastConnection): void {
    this.#connections.delete(conn)
    if (this.#connections.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer)
      this.#timer = undefined
    }
  }

  /** Shutting down: idle connections close now, the others after their response. */
  closeIdle(): void {
    this.closing = true
    for (const conn of this.#connections) conn.closeIfIdle()
  }

  closeAll(): void {
    for (const conn of this.#connections) conn.socket.destroy()
  }

  #check(): void {
    const now = (this.now = performance.now())
    for (const conn of this.#connections) conn.check(now)
  }
}

class FastConnection implements ParserHost, ExchangeOwner, BodySource {
  readonly parser: RequestParser
  readonly keepAliveHeader: string
  /** Earlier reads of the request being parsed (its head spans them), and their length. */
  #partial: Buffer[] | undefined
  #partialLength = 0
  /** Bytes after the request being answered (pipelined), parsed once its response is flushed. */
  #queued: Buffer[] | undefined
  #queuedLength = 0
  #response: FastResponse | undefined
  /**
   * Since when the head being waited for is counted against headersTimeout (front.now): the
   * accept for a connection's first request (as node:http), else its first byte; 0 between requests.
   */
  #headSince: number
  #idleSince: number
  /** The parse stopped at the end of a message (not at an ineligible head). */
  #complete = false
  /** The request being parsed asked to close the connection after its response. */
  #lastRequest = false
  /** Bytes arrived behind the last request and were dropped. */
  #dropped = false
  #paused = false
  #detached = false
  /** Content-Length of the request whose head was just parsed (0: no body). */
  #bodyLength = 0
  /** The request whose body is arriving, and how many bytes of it are still to come. */
  #body: FastBodyRequest | undefined
  #bodyRemaining = 0
  /** The socket is paused because the body's reader is behind. */
  #bodyPaused = false

  constructor(readonly front: FastFront, readonly socket: Socket) {
    this.parser = new RequestParser(this, front.options.maxHeaderSize)
    this.keepAliveHeader = front.keepAliveHeader
    this.#idleSince = this.#headSince = front.now
    socket.on('data', this.#onData)
    socket.on('drain', this.#onDrain)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
  }

  get closing(): boolean {
    return this.front.closing
  }

  // ---- llhttp ----

  onHeadersComplete(_status: number, upgrade: boolean, keepAlive: boolean): number {
    const p = this.parser
    if (upgrade || p.versionMajor !== 1 || p.versionMinor > 1) return PARSE_PAUSED
    // Without keep-alive (HTTP/1.1 with `Connection: close`, HTTP/1.0 without `Connection:
    // keep-alive`) the request is answered with `Connection: close`, and the connection closed
    // after it (nothing pipelined behind it is read), as node:http does.
    this.#lastRequest = !keepAlive
    this.#bodyLength = 0
    const raw = p.headers
    let host = false
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      switch (name.length) {
        case 4: if (name.toLowerCase() === 'host') host = true; break
        case 6: if (name.toLowerCase() === 'expect') return PARSE_PAUSED; break
        // llhttp keeps an HTTP/1.0 connection whose Connection lists keep-alive and close; close wins.
        case 10: if (keepAlive && p.versionMinor === 0 && name.toLowerCase() === 'connection' && asksToClose(raw[i + 1]!)) this.#lastRequest = true; break
        case 14: {
          if (name.toLowerCase() !== 'content-length') break
          // (llhttp has refused a malformed or a repeated one.) Past 2^53, or a zero written
          // otherwise than '0' (which ctx.hasBody would take for a body): node:http reads it.
          const value = raw[i + 1]!
          const length = Number(value)
          if (!Number.isSafeInteger(length) || (length === 0 && value !== '0')) return PARSE_PAUSED
          this.#bodyLength = length
          break
        }
        case 17: if (name.toLowerCase() === 'transfer-encoding') return PARSE_PAUSED; break
      }
    }
    if (!host) return PARSE_PAUSED // node:http answers a missing Host with 400
    // 1: llhttp takes the message to end with its head; the body is counted here (#bodyBytes).
    return this.#bodyLength > 0 ? 1 : 0
  }

  onBody(): number {
    return 0 // never reached: a Content-Length body is counted here, any other handed off at its head
  }

  onMessageComplete(): number {
    this.#complete = true
    return PARSE_PAUSED
  }

  // ---- socket ----

  readonly #onData = (chunk: Buffer): void => {
    if (this.#body !== undefined) return this.#bodyBytes(chunk, 0)
    if (this.#response !== undefined) {
      // Behind a request that closes the connection nothing is parsed: read and drop it, never
      // pause (see #closeSoon for why the socket must keep being read).
      if (this.#lastRequest) return void (this.#dropped = true)
      return this.#queue(chunk)
    }
    if (this.#headSince === 0) this.#headSince = this.front.now
    this.#parse(chunk)
  }

  readonly #onDrain = (): void => {
    this.#response?.drained()
  }

  /**
   * The client half-closed. As node:http (and nginx) do, a request still being answered is
   * abandoned and an incomplete head dropped; the connection closes.
   */
  readonly #onEnd = (): void => {
    if (this.#detached) return
    const res = this.#response
    this.#response = undefined
    res?.aborted()
    this.#bodyGone()
    if (this.#partial !== undefined) return void this.socket.destroy()
    this.#closeSoon()
  }

  readonly #onError = (): void => {
    this.socket.destroy()
  }

  readonly #onClose = (): void => {
    const res = this.#response
    this.#response = undefined
    res?.aborted()
    this.#bodyGone()
    this.#detach()
  }

  // ---- parsing ----

  #parse(data: Buffer): void {
    const p = this.parser
    this.#complete = false
    const ret = p.execute(data)
    if (ret === PARSE_OK) {
      // The head goes on in the next read. llhttp does not count every byte of a head against
      // maxHeaderSize (blank lines before it, whitespace before a value): past a margin, node:http
      // reads it instead, as a stream, and answers it as it would have.
      ;(this.#partial ??= []).push(data)
      this.#partialLength += data.length
      if (this.#partialLength > this.front.options.maxHeaderSize + PARTIAL_MARGIN) this.#handOff(this.#takePartial())
      return
    }
    let whole = data
    if (this.#partial !== undefined) {
      this.#partial.push(data)
      this.#partialLength += data.length
      whole = this.#takePartial()
    }
    // A parse error, or a request this front does not serve: node:http parses it from its start.
    if (ret !== PARSE_PAUSED || !this.#complete) return this.#handOff(whole)
    const consumed = p.consumed
    const minor = p.versionMinor === 0 ? 0 : 1
    const length = this.#bodyLength
    const req = length > 0
      ? new FastBodyRequest(p.method, p.target, p.headers, this.socket, minor, this)
      : new FastRequest(p.method, p.target, p.headers, this.socket, minor)
    const res = new FastResponse(req, this)
    if (this.#lastRequest) res.shouldKeepAlive = false
    this.#response = res
    this.#headSince = 0
    // A body that came whole with its head (a small POST) is in the request before it is served:
    // complete, it can go upstream as one buffer with the head (forward.ts). (A hand-off below
    // gives node:http these bytes again; this request is dropped.)
    let end = consumed
    if (length > 0 && data.length - consumed >= length) {
      end = consumed + length
      const body = req as FastBodyRequest
      body.push(data.subarray(consumed, end))
      body.endBody()
    }
    if (!this.front.host.serve(req, res)) {
      this.#response = undefined
      return this.#handOff(whole)
    }
    if (length > 0 && end === consumed) {
      // The rest of the body is pushed as it arrives (a body guard is in place by now).
      this.#body = req as FastBodyRequest
      this.#bodyRemaining = length
      return this.#bodyBytes(data, consumed)
    }
    if (end < data.length) {
      if (this.#lastRequest) this.#dropped = true
      else this.#queue(data.subarray(end))
    }
  }

  /** The reads of the head so far, as one buffer; none kept. */
  #takePartial(): Buffer {
    const whole = joined(this.#partial!, this.#partialLength)
    this.#partial = undefined
    this.#partialLength = 0
    return whole
  }

  #queue(bytes: Buffer): void {
    ;(this.#queued ??= []).push(bytes)
    this.#queuedLength += bytes.length
    if (this.#queuedLength > MAX_QUEUED && !this.#paused) {
      this.#paused = true
      this.socket.pause()
    }
  }

  /** Body bytes of the request in flight, from `offset` in `chunk`; what follows them is the next request's. */
  #bodyBytes(chunk: Buffer, offset: number): void {
    const body = this.#body!
    const available = chunk.length - offset
    const take = available < this.#bodyRemaining ? available : this.#bodyRemaining
    this.#bodyRemaining -= take
    if (take > 0 && !body.dumped && !body.destroyed) {
      const more = body.push(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take))
      if (!more && this.#bodyRemaining > 0 && !this.#bodyPaused) {
        this.#bodyPaused = true
        this.socket.pause()
      }
    }
    if (this.#bodyRemaining > 0) {
      if (this.#response === undefined) this.#idleSince = this.front.now = performance.now() // (answered: see check)
      return
    }
    this.#body = undefined
    this.bodyWanted()
    if (!body.destroyed) body.endBody()
    const rest = offset + take
    if (this.#response === undefined) {
      // Answered before its body ended: what follows is the next request.
      if (rest < chunk.length) this.#queue(chunk.subarray(rest))
      return this.#next()
    }
    if (rest === chunk.length) return
    if (this.#lastRequest) this.#dropped = true
    else this.#queue(chunk.subarray(rest))
  }

  bodyWanted(): void {
    if (!this.#bodyPaused) return
    this.#bodyPaused = false
    this.socket.resume()
  }

  /** The client went away (or half-closed) while a body was still to come: its readers get node:http's `aborted` error. */
  #bodyGone(): void {
    const body = this.#body
    if (body === undefined) return
    this.#body = undefined
    body.clientGone()
  }

  responseDone(res: FastResponse, close: boolean): void {
    if (res !== this.#response) return
    this.#response = undefined
    const body = this.#body
    if (close || this.front.closing) {
      // (A body still arriving is read and dropped by the lingering close.)
      if (body !== undefined) body.dump()
      return this.#closeSoon(this.#dropped || this.#queued !== undefined || body !== undefined)
    }
    if (body === undefined) return this.#next()
    // Answered before its body ended: the rest is read first — by its reader, or dropped when
    // nobody reads it (node:http's dump) — then the next request (#bodyBytes).
    this.#idleSince = this.front.now = performance.now()
    if (!body.consuming) body.dump()
  }

  /** The request, its body and its response are done: parse what came after them. */
  #next(): void {
    if (this.front.closing) return this.#closeSoon(this.#queued !== undefined)
    this.#idleSince = this.front.now = performance.now()
    this.parser.resume()
    if (this.#queued === undefined) return
    const queued = this.#takeQueued()
    if (this.#paused) {
      this.#paused = false
      this.socket.resume()
    }
    this.#headSince = this.front.now
    this.#parse(queued)
  }

  #handOff(bytes: Buffer): void {
    const queued = this.#queued === undefined ? undefined : this.#takeQueued()
    this.#detach()
    this.front.host.handOff(this.socket, queued === undefined ? bytes : Buffer.concat([bytes, queued]))
  }

  /** The bytes queued behind the response in flight, as one buffer; none kept. */
  #takeQueued(): Buffer {
    const whole = joined(this.#queued!, this.#queuedLength)
    this.#queued = undefined
    this.#queuedLength = 0
    return whole
  }

  #detach(): void {
    if (this.#detached) return
    this.#detached = true
    const s = this.socket
    s.off('data', this.#onData)
    s.off('drain', this.#onDrain)
    s.off('end', this.#onEnd)
    s.off('error', this.#onError)
    s.off('close', this.#onClose)
    // Until node:http (or the close) takes over; once: a socket can come back (an h2c request served
    // plain) and be handed over again.
    if (!s.destroyed && !s.listeners('error').includes(ignore)) s.on('error', ignore)
    this.parser.destroy()
    this.front.release(this)
  }

  /**
   * Ends the connection once what was written is flushed (as node:http's destroySoon). With
   * `linger` (the client sent more than was answered), a lingering close, as nginx does: the
   * socket is read on and what arrives dropped until the client closes too, or LINGER_MS after
   * the response is flushed. Closing a socket with unread bytes makes the kernel send a reset,
   * which throws away the part of the response not yet delivered.
   */
  #closeSoon(linger = false): void {
    const s = this.socket
    this.#detach()
    if (s.destroyed) return
    if (!s.writable) return void s.destroy()
    s.end()
    if (linger && !s.readableEnded) {
      s.on('data', ignore)
      s.resume()
      return lingerUntilClientCloses(s)
    }
    destroyWhenFlushed(s)
  }

  // ---- from the front ----

  closeIfIdle(): void {
    if (this.#response === undefined && this.#partial === undefined && this.#body === undefined) this.#closeSoon()
  }

  check(now: number): void {
    // (A body still arriving for a request not yet answered has the body guard's clock.)
    if (this.#response !== undefined || this.#detached) return
    const { headersTimeout, keepAliveTimeout } = this.front.options
    if (this.#body !== undefined) {
      // Answered, its body still arriving (read by a late reader, or dropped): as node:http does
      // (and nginx's lingering_timeout), no byte for the keep-alive timeout closes the connection;
      // a client trickling the rest of an answered upload cannot hold it for longer.
      if (keepAliveTimeout > 0 && now - this.#idleSince >= keepAliveTimeout + KEEP_ALIVE_BUFFER) {
        this.#detach() // (first: it keeps an 'error' listener on the socket the body's abort destroys)
        this.#bodyGone()
        this.socket.destroy()
      }
      return
    }
    if (this.#headSince !== 0) {
      if (headersTimeout > 0 && now - this.#headSince >= headersTimeout) {
        const reply = this.front.host.timedOut(this.socket)
        this.#detach()
        this.socket.end(reply, () => this.socket.destroy())
      }
    } else if (keepAliveTimeout > 0 && now - this.#idleSince >= keepAliveTimeout + KEEP_ALIVE_BUFFER) {
      this.#detach()
      this.socket.destroy()
    }
  }
}

function ignore(): void {}

/** `chunks` as one buffer: the chunk itself when there is only one. */
function joined(chunks: Buffer[], length: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)
}

/**
 * One keep-alive HTTP/1.1 connection to an upstream server: writes one request at a time and
 * parses its response with llhttp, reused while both sides allow it.
 *
 * Reading: heads (and chunked bodies) go through llhttp. A Content-Length or close-delimited
 * body is counted here instead — llhttp is told the message has no body and paused at its end,
 * and the bytes are handed on as slices of the socket's chunks, without a copy into wasm memory.
 * Whatever follows a complete response in the same read is not part of it: the connection is
 * then not reused. Bytes on an idle connection close it.
 *
 * Plain TCP sockets read into buffers of read-buffers.ts instead of one Node allocates per read:
 * heads into a small buffer all connections share (body bytes read with them are copied out),
 * bodies into 64 KiB buffers that handlers which write chunks out and let go of them give back
 * (`chunkHolder`). TLS sockets read as Node does.
 *
 * Timeouts are deadlines the pool's sweep checks (no timer per request): connect, response head
 * (from the end of the request, or while the upstream stops reading a request body), body idle
 * (off while the handler has paused the body), keep-alive idle. While request bytes wait to be
 * written, the response-head clock only runs out if none of them goes out for the whole timeout
 * (as Node's socket timeout and nginx's proxy_send_timeout): an upstream reading a large body
 * slowly but steadily is not cut off.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { ResponseParser, PARSE_OK, PARSE_PAUSED, type ParserHost } from './llhttp.js'
import { UpstreamClientError, badResponse } from './errors.js'
import { expectsPayload } from './request-head.js'
import { StreamBodyWriter, type BodyTarget } from './request-body.js'
import { corkForThisTurn } from '../stream-buffer.js'
import { scanHead, type HeadFacts } from './response-head.js'
import type { Exchange } from './exchange.js'
import type { Readable } from 'node:stream'
import type { ConnectionOwner } from './pool-settings.js'
import { COPY_BELOW, lendReadBuffer, returnReadBuffer, sharedReadBuffer, takeReadBuffer, type ChunkHolder } from './read-buffers.js'

/** How the current response's body is read. */
const BODY_NONE = 0
/** llhttp frames it (Transfer-Encoding: chunked, or another coding read until EOF). */
const BODY_PARSER = 1
/** Content-Length, counted here. */
const BODY_LENGTH = 2
/** No length: everything until the upstream closes. */
const BODY_EOF = 3

/** Interim (1xx) responses accepted before the final one (Go's Transport allows 5). */
const MAX_INTERIM = 10

/** Bytes handed to llhttp at a time while the head is incomplete (heads are usually far smaller). */
const HEAD_SLICE = 4096

const TIMER_NONE = 0
const TIMER_CONNECT = 1
const TIMER_HEADERS = 2
const TIMER_BODY = 3
const TIMER_IDLE = 4

/** Bytes being handled came from 'data' (TLS, or bytes put back): they are the connection's to give. */
const READ_OWN = 0
/** From a read into a buffer that is read into again: chunks given out are copies. */
const READ_COPY = 1
/** From a read into a body buffer: chunks given out are views of it (it is lent, or forgotten). */
const READ_LEND = 2

export class Connection implements ParserHost, BodyTarget, HeadFacts {
  readonly socket: Socket
  readonly parser: ResponseParser
  /** The request on this connection (undefined: idle, or reserved for a check). */
  exchange: Exchange | undefined
  /** An exchange waiting for the idle check before it is written here. */
  reserved: Exchange | undefined
  /** Requests started on this connection (the current one included). */
  requests = 0
  /** performance.now() at which the current timer expires; 0 = none. */
  deadline = 0
  /** Index in the pool's list of connections. */
  index = -1
  closed = false
  #timer = TIMER_NONE
  /**
   * When the response-head clock was (re)started: request bytes held by the socket stream, and
   * in libuv's write queue (at most). Either going down means the upstream is reading.
   */
  #heldAtArm = 0
  #queuedAtArm = 0
  #connected = false
  #refed = true
  /** The idle time the last response allows (its Keep-Alive hint, capped), in ms. */
  #idleTimeout: number
  // The current exchange's response.
  #headersDone = false
  #gotBytes = false
  #messageDone = false
  #keepAlive = false
  #closeAfter = false
  #extra = false
  #paused = false
  #mode = BODY_NONE
  /** Interim (1xx) responses received before the final one. */
  #interim = 0
  #remaining = 0
  #bodySent = false
  #writer: StreamBodyWriter | undefined
  #failure: Error | undefined
  // HeadFacts, filled by scanHead.
  contentLength = ''
  transferEncoding = false
  keepAliveHint = -1
  connection = ''
  // Reading (plain TCP): see read-buffers.ts.
  /** The buffer the socket reads into next (undefined: its last one was lent or forgotten). */
  #readBuffer: Buffer | undefined
  #readMode = READ_OWN
  /** Who got views of the buffer of the read being handled. */
  #lentTo: ChunkHolder | undefined
  /** A view of that buffer went where no holder answers for it (put back in the socket): never reuse it. */
  #viewKept = false

  constructor(readonly pool: ConnectionOwner) {
    const s = pool.settings
    this.#idleTimeout = s.keepAliveTimeout
    this.parser = new ResponseParser(this, s.maxHeaderSize)
    const socket = s.secure
      ? tlsConnect({ host: s.host, port: s.port, servername: isIP(s.host) === 0 ? s.host : undefined, ALPNProtocols: ['http/1.1'], ...s.tls })
      : netConnect({ host: s.host, port: s.port, onread: { buffer: this.#nextReadBuffer, callback: this.#onRead } })
    this.socket = socket
    if (s.noDelay) socket.setNoDelay(true)
    socket.setKeepAlive(true, 60_000)
    socket.on(s.secure ? 'secureConnect' : 'connect', this.#onConnect)
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
    socket.on('drain', this.#onDrain)
    this.#setTimer(TIMER_CONNECT, s.connectTimeout)
  }

  /** Writes `ex` on this connection (connected or still connecting). */
  start(ex: Exchange): void {
    this.exchange = ex
    ex.conn = this
    this.requests++
    this.#headersDone = false
    this.#gotBytes = false
    this.#messageDone = false
    this.#extra = false
    this.#paused = false
    this.#mode = BODY_NONE
    this.#interim = 0
    this.#bodySent = false
    this.#failure = undefined
    const max = this.pool.settings.maxRequestsPerClient
    this.#closeAfter = max > 0 && this.requests >= max
    this.parser.resume() // llhttp was paused at the end of the previous response
    if (!this.#refed) {
      this.socket.ref()
      this.#refed = true
    }
    if (!ex.streamed) this.#writeHead(ex)
    else if (this.#connected) this.#startStream(ex) // else on connect: a failed connect leaves the stream unread
    if (this.#connected) this.#armWait()
  }

  /** The connection now waits for its next request. */
  makeIdle(): void {
    this.#setTimer(TIMER_IDLE, this.#idleTimeout)
    if (this.#refed) {
      this.socket.unref() // an idle pool does not keep the process alive
      this.#refed = false
    }
  }

  /** Reserved for an exchange until the pool's idle check (no idle timer meanwhile). */
  reserve(ex: Exchange): void {
    this.reserved = ex
    this.#setTimer(TIMER_NONE, 0)
  }

  /** The pool's sweep found `deadline` passed. */
  expire(): void {
    const timer = this.#timer
    this.#setTimer(TIMER_NONE, 0)
    const s = this.pool.settings
    if (timer === TIMER_CONNECT) this.#fail(new UpstreamClientError('SWITCHYARD_CONNECT_TIMEOUT', `upstream connect timeout (${s.connectTimeout} ms)`))
    else if (timer === TIMER_HEADERS && this.#writeProgressed()) this.#setTimer(TIMER_HEADERS, s.headersTimeout)
    else if (timer === TIMER_HEADERS) this.#fail(new UpstreamClientError('SWITCHYARD_HEADERS_TIMEOUT', `upstream response header timeout (${s.headersTimeout} ms)`))
    else if (timer === TIMER_BODY) this.#fail(new UpstreamClientError('SWITCHYARD_BODY_TIMEOUT', `upstream body idle timeout (${s.bodyTimeout} ms)`))
    else if (timer === TIMER_IDLE) this.close()
  }

  /** Ends the current exchange (if any) with `err` and closes the connection. */
  abort(err: Error): void {
    this.#fail(err, false)
  }

  /** Closes the connection (no exchange is failed: the caller has ended it). */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.#setTimer(TIMER_NONE, 0)
    this.socket.destroy()
    this.pool.removed(this)
  }

  /** The handler's resume: read on after onHeaders/onData returned false. One per connection. */
  readonly resume = (): void => {
    if (!this.#paused || this.exchange === undefined) return
    this.#paused = false
    this.parser.resume()
    this.#armBodyTimer()
    this.socket.resume()
  }

  // ---- writing ----

  #writeHead(ex: Exchange): void {
    const connection = this.#closeAfter ? 'connection: close\r\n' : 'connection: keep-alive\r\n'
    const body = ex.body as Buffer | null
    if (body === null) {
      const length = expectsPayload(ex.method) ? 'content-length: 0\r\n' : ''
      this.socket.write(`${ex.start}${connection}${ex.fields}${length}\r\n`, 'latin1')
    } else {
      this.socket.cork()
      this.socket.write(`${ex.start}${connection}${ex.fields}content-length: ${body.length}\r\n\r\n`, 'latin1')
      this.socket.write(body)
      this.socket.uncork()
    }
    this.#bodySent = true
  }

  #startStream(ex: Exchange): void {
    const connection = this.#closeAfter ? 'connection: close\r\n' : 'connection: keep-alive\r\n'
    const framing = ex.declaredLength >= 0 ? `content-length: ${ex.declaredLength}\r\n` : 'transfer-encoding: chunked\r\n'
    // The head waits for the body bytes of this turn (a small body usually came with its
    // client's head): one write for both instead of two (issue #6: a 512-byte POST, -4 µs).
    corkForThisTurn(this.socket)
    this.socket.write(`${ex.start}${connection}${ex.fields}${framing}\r\n`, 'latin1')
    this.#writer = new StreamBodyWriter(this, ex.body as Readable, ex.declaredLength)
  }

  bodyBackpressure(): void {
    this.#armWait()
  }

  bodySent(): void {
    this.#writer = undefined
    this.#bodySent = true
    this.#armWait()
  }

  bodyFailed(err: Error): void {
    this.#writer = undefined
    this.#fail(err)
  }

  // ---- socket events ----

  readonly #onConnect = (): void => {
    this.#connected = true
    this.#setTimer(TIMER_NONE, 0)
    const ex = this.exchange
    if (ex === undefined) return
    if (ex.streamed) this.#startStream(ex)
    this.#armWait()
  }

  readonly #onDrain = (): void => {
    this.#writer?.drained()
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.exchange === undefined) return this.close() // unsolicited bytes on an idle connection
    this.#gotBytes = true
    if (this.#messageDone) this.#body(chunk, 0) // a Content-Length or close-delimited body
    else this.#parse(chunk)
  }

  /** A read into #readBuffer (plain TCP). */
  readonly #onRead = (nread: number, buffer: Uint8Array): boolean => {
    const handler = this.exchange?.handler
    if (buffer === sharedReadBuffer) this.#readMode = READ_COPY
    else this.#readMode = nread < COPY_BELOW && handler?.chunkHolder === undefined ? READ_COPY : READ_LEND
    this.#lentTo = undefined
    this.#viewKept = false
    try {
      this.#onData((buffer as Buffer).subarray(0, nread))
    } catch (err) {
      // Node asks for no next buffer after a throw: the socket would read on into this one.
      this.socket.destroy()
      throw err
    } finally {
      if (this.#readMode === READ_LEND && (this.#viewKept || this.#lentTo !== undefined)) {
        if (!this.#viewKept) lendReadBuffer(buffer as Buffer, this.#lentTo!)
        this.#readBuffer = undefined // (else no view of it left here: read into it again)
      }
      this.#readMode = READ_OWN
      this.#lentTo = undefined
    }
    return true
  }

  /**
   * The buffer for the socket's next read, asked for after each read (and once at the start): a
   * body buffer while a body is being read, else the shared one.
   */
  readonly #nextReadBuffer = (): Buffer => {
    const current = this.#readBuffer
    if (this.exchange !== undefined && this.#headersDone && this.#mode !== BODY_NONE) {
      if (current !== undefined && current !== sharedReadBuffer) return current
      return (this.#readBuffer = takeReadBuffer())
    }
    if (current !== undefined && current !== sharedReadBuffer) returnReadBuffer(current)
    return (this.#readBuffer = sharedReadBuffer)
  }

  /** Body bytes for the handler: a copy, a view lent with its buffer, or the connection's own bytes. */
  #give(ex: Exchange, chunk: Buffer): boolean {
    const mode = this.#readMode
    if (mode === READ_COPY) return ex.handler.onData(Buffer.from(chunk))
    if (mode === READ_LEND) {
      const holder = ex.handler.chunkHolder
      if (holder === undefined || (this.#lentTo !== undefined && this.#lentTo !== holder)) this.#viewKept = true
      else this.#lentTo = holder
    }
    return ex.handler.onData(chunk)
  }

  /** Puts unread bytes back in the socket, as a copy when the buffer they are in is read into again. */
  #putBack(bytes: Buffer): void {
    if (this.#readMode === READ_COPY) bytes = Buffer.from(bytes)
    else if (this.#readMode === READ_LEND) this.#viewKept = true
    this.socket.unshift(bytes)
  }

  readonly #onEnd = (): void => {
    const ex = this.exchange
    if (ex === undefined) return this.close()
    if (this.#headersDone) {
      if (this.#mode === BODY_EOF) {
        this.#keepAlive = false
        return this.#complete()
      }
      if (this.#mode === BODY_PARSER) {
        this.parser.finish() // ends a body read until EOF (calls onMessageComplete)
        if (this.#messageDone && this.exchange === ex) return this.#complete()
      }
      return this.#fail(new UpstreamClientError('SWITCHYARD_UPSTREAM_CLOSED', 'upstream closed the connection mid-body'))
    }
    this.#fail(new UpstreamClientError('SWITCHYARD_UPSTREAM_CLOSED', 'upstream closed the connection before responding'))
  }

  readonly #onError = (err: Error): void => {
    this.#fail(err)
  }

  readonly #onClose = (): void => {
    this.parser.destroy()
    if (this.exchange !== undefined) this.#fail(new UpstreamClientError('SWITCHYARD_UPSTREAM_CLOSED', 'upstream connection closed'))
    else this.close()
    this.pool.socketClosed()
  }

  // ---- reading ----

  #parse(chunk: Buffer): void {
    const ex = this.exchange!
    let ret: number
    let offset = 0
    let end: number
    // Until the head is parsed, feed llhttp slices of HEAD_SLICE: the head of a large response
    // is usually followed by up to 64 KiB of body in the same read, which llhttp never needs to
    // see (and which would be copied into wasm memory for nothing).
    for (;;) {
      end = this.#headersDone ? chunk.length : Math.min(chunk.length, offset + HEAD_SLICE)
      try {
        ret = this.parser.execute(offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end))
      } catch (err) {
        return this.#fail(err as Error)
      }
      if (this.exchange !== ex) return // failed or aborted inside a callback
      if (ret !== PARSE_OK || end === chunk.length) break
      offset = end
    }
    if (ret === PARSE_OK) return // the head or a chunked body goes on in the next read
    if (ret !== PARSE_PAUSED) return this.#fail(this.#failure ?? badResponse(this.parser.reason()))
    const used = offset + this.parser.consumed
    if (this.#messageDone) {
      if (this.#mode === BODY_LENGTH || this.#mode === BODY_EOF) return this.#body(chunk, used)
      if (used < chunk.length) this.#extra = true
      return this.#complete()
    }
    // Paused by the handler inside llhttp: keep the rest for resume().
    this.socket.pause()
    if (used < chunk.length) this.#putBack(chunk.subarray(used))
  }

  /** Body bytes of a Content-Length or close-delimited response, from `offset` in `chunk`. */
  #body(chunk: Buffer, offset: number): void {
    const ex = this.exchange!
    if (this.#paused) {
      this.socket.pause()
      if (offset < chunk.length) this.#putBack(offset === 0 ? chunk : chunk.subarray(offset))
      return
    }
    let end = chunk.length
    if (this.#mode === BODY_LENGTH) {
      const available = end - offset
      if (available >= this.#remaining) {
        if (available > this.#remaining) this.#extra = true
        end = offset + this.#remaining
        this.#remaining = 0
      } else {
        this.#remaining -= available
      }
    }
    if (end > offset) {
      if (this.#timer === TIMER_BODY) this.deadline = performance.now() + this.pool.settings.bodyTimeout
      let more: boolean
      try {
        more = this.#give(ex, offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end))
      } catch (err) {
        return this.#fail(err as Error)
      }
      if (this.exchange !== ex) return
      if (more === false && !(this.#mode === BODY_LENGTH && this.#remaining === 0)) this.#pause()
    }
    if (this.#mode === BODY_LENGTH && this.#remaining === 0) this.#complete()
  }

  onHeadersComplete(status: number, upgrade: boolean, keepAlive: boolean): number {
    const ex = this.exchange
    if (ex === undefined) return -1
    if (status < 200) {
      if (status === 101 || upgrade) return this.#reject(badResponse('101 Switching Protocols to a request that asked for no upgrade'))
      if (status < 100) return this.#reject(badResponse('status line'))
      // An interim response (103 Early Hints, 102…): handed to onInterim (the forwarder passes it
      // on, RFC 9110 §15.2), or dropped (100 Continue: the proxy answers the client's Expect
      // itself); the final one follows. An endless stream of them would hold the request (and a
      // core) until the head timeout: a few are allowed, as Go's Transport does.
      if (++this.#interim > MAX_INTERIM) return this.#reject(badResponse(`more than ${MAX_INTERIM} interim (1xx) responses`))
      if (status !== 100 && ex.handler.onInterim !== undefined) {
        try {
          ex.handler.onInterim(status, this.parser.headers)
        } catch (err) {
          return this.#reject(err as Error)
        }
        if (this.exchange !== ex) return -1
      }
      return 1 // (RFC 9112 §6.3: a 1xx ends with its head, whatever Content-Length or Transfer-Encoding say)
    }
    if (this.parser.versionMajor !== 1) return this.#reject(badResponse(`HTTP version ${this.parser.version}`))
    this.#headersDone = true
    this.#keepAlive = keepAlive
    const headers = this.parser.headers
    scanHead(headers, this)
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing: close after it.
    if (this.transferEncoding && this.parser.versionMinor === 0) this.#keepAlive = false
    // llhttp expects a close-delimited body when a response has no length; a HEAD response has none.
    if (!keepAlive && ex.method === 'HEAD' && this.contentLength === '' && !this.transferEncoding) this.#keepAlive = headKeepAlive(this.parser.version, this.connection)
    const s = this.pool.settings
    if (this.keepAliveHint >= 0) {
      // As undici: a margin of 2 s below the server's own timeout, at most keepAliveMaxTimeout.
      this.#idleTimeout = Math.min(this.keepAliveHint - 2000, s.keepAliveMaxTimeout)
      if (this.#idleTimeout <= 0) this.#keepAlive = false
    } else {
      this.#idleTimeout = s.keepAliveTimeout
    }
    let skipBody = 1
    if (ex.method === 'HEAD' || status === 204 || status === 304) {
      this.#mode = BODY_NONE // whatever Content-Length says (RFC 9110 §6.4.1)
    } else if (this.transferEncoding) {
      this.#mode = BODY_PARSER
      skipBody = 0
    } else if (this.contentLength !== '') {
      this.#remaining = Number(this.contentLength)
      this.#mode = this.#remaining === 0 ? BODY_NONE : BODY_LENGTH
    } else {
      this.#mode = BODY_EOF
      this.#keepAlive = false
    }
    if (this.#mode === BODY_NONE) this.#setTimer(TIMER_NONE, 0)
    else this.#armBodyTimer()
    let more: boolean
    try {
      more = ex.handler.onHeaders(status, headers, this.resume)
    } catch (err) {
      return this.#reject(err as Error)
    }
    if (this.exchange !== ex) return -1
    if (more === false && this.#mode !== BODY_NONE) {
      this.#paused = true
      this.#setTimer(TIMER_NONE, 0)
      if (skipBody === 0) return PARSE_PAUSED
    }
    return skipBody
  }

  onBody(chunk: Buffer): number {
    const ex = this.exchange
    if (ex === undefined) return -1
    if (this.#timer === TIMER_BODY) this.deadline = performance.now() + this.pool.settings.bodyTimeout
    let more: boolean
    try {
      more = this.#give(ex, chunk)
    } catch (err) {
      return this.#reject(err as Error)
    }
    if (this.exchange !== ex) return -1
    if (more !== false) return 0
    this.#paused = true
    this.#setTimer(TIMER_NONE, 0)
    return PARSE_PAUSED
  }

  onMessageComplete(): number {
    if (!this.#headersDone) return 0 // an interim response ended: parse on
    this.#messageDone = true
    return PARSE_PAUSED // stop at the message boundary: later bytes are not this response's
  }

  /** Inside a parser callback: fail once execute has returned. */
  #reject(err: Error): number {
    this.#failure = err
    return -1
  }

  #pause(): void {
    this.#paused = true
    this.#setTimer(TIMER_NONE, 0)
    this.socket.pause()
  }

  // ---- ending an exchange ----

  #complete(): void {
    const ex = this.exchange!
    this.exchange = undefined
    ex.conn = undefined
    ex.done = true
    if (this.#writer !== undefined) {
      this.#writer.abandon() // the upstream answered before the whole body was sent
      this.#writer = undefined
    }
    if (this.#paused) this.#paused = false
    if (this.socket.isPaused()) this.socket.resume() // an idle connection must see bytes and close
    const reusable = this.#keepAlive && this.#bodySent && !this.#extra && !this.#closeAfter && !this.closed
    if (reusable) this.pool.release(this)
    else this.close()
    try {
      ex.handler.onComplete()
    } catch (err) {
      process.emitWarning(err as Error)
    }
  }

  /**
   * Ends the current exchange with `err` and closes the connection.
   *
   * Stale keep-alive connections: a server may close an idle connection just as a request is
   * written on it. When a reused connection (not its first request) fails with a reset, a
   * broken pipe or EOF before a single response byte arrived, the request is sent once more on
   * a fresh connection — only for idempotent methods whose body is absent or a Buffer (nothing
   * of a stream can be sent twice), as Go's Transport and nginx do for cached connections.
   */
  #fail(err: Error, mayRetry = true): void {
    const ex = this.exchange
    this.close()
    if (ex === undefined) return
    this.exchange = undefined
    ex.conn = undefined
    if (this.#writer !== undefined) {
      this.#writer.abandon()
      this.#writer = undefined
    }
    if (mayRetry && this.requests > 1 && !this.#gotBytes && ex.replayable && isReset(err) && this.pool.retry(ex)) return
    ex.done = true
    ex.handler.onError(err)
  }

  // ---- timers ----

  #setTimer(kind: number, ms: number): void {
    this.#timer = ms > 0 ? kind : TIMER_NONE
    this.deadline = ms > 0 ? performance.now() + ms : 0
  }

  /** Before the response head: wait for it once the request is sent, or while the upstream does not read the body. */
  #armWait(): void {
    if (this.#headersDone || this.exchange === undefined) return
    if (this.#bodySent || this.socket.writableNeedDrain) {
      if (this.#timer === TIMER_HEADERS) return
      this.#setTimer(TIMER_HEADERS, this.pool.settings.headersTimeout)
      // Progress is watched only while the upstream holds up the writes (a small head written
      // before the connect completed is no sign of reading). What the stream holds may not be in
      // libuv's queue yet (corked for this turn): it counts as queued, so a write that then
      // stalls part-way still shows as progress — at worst the clock is extended once, as
      // Node's own socket timeout may be.
      const held = this.socket.writableNeedDrain ? this.socket.writableLength : 0
      this.#heldAtArm = held
      this.#queuedAtArm = held === 0 ? 0 : writeQueueSize(this.socket) + held
    } else {
      this.#setTimer(TIMER_NONE, 0)
    }
  }

  /** Since the clock was started (or last extended), some of the request bytes then waiting went out. */
  #writeProgressed(): boolean {
    if (this.#heldAtArm === 0) return false
    const socket = this.socket
    const held = socket.writableLength
    const queued = writeQueueSize(socket)
    const progressed = held < this.#heldAtArm || queued < this.#queuedAtArm
    this.#heldAtArm = held
    this.#queuedAtArm = queued
    return progressed
  }

  #armBodyTimer(): void {
    this.#setTimer(TIMER_BODY, this.pool.settings.bodyTimeout)
  }
}

/** Whether a response without framing fields allows reuse: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`. */
function headKeepAlive(version: string, connection: string): boolean {
  const value = connection.toLowerCase()
  if (version === '1.1') return !/(^|[\s,])close($|[\s,])/.test(value)
  return version === '1.0' && /(^|[\s,])keep-alive($|[\s,])/.test(value)
}

/**
 * Bytes in libuv's write queue: it shrinks with every partial write, where the stream's
 * `writableLength` only shrinks when a whole write completes, and 'drain' comes once all of it
 * has. Node's own socket timeout reads it for the same purpose; 0 if a handle lacks it.
 */
function writeQueueSize(socket: Socket): number {
  const queued = (socket as { _handle?: { writeQueueSize?: unknown } | null })._handle?.writeQueueSize
  return typeof queued === 'number' ? queued : 0
}

function isReset(err: Error): boolean {
  const code = (err as { code?: unknown }).code
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'SWITCHYARD_UPSTREAM_CLOSED'
}

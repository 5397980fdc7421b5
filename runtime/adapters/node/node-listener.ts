/**
 * The node:http server adapter: one http.Server per listen address, feeding Runtime.handle.
 *
 * llhttp (strict mode) already rejects the framing attacks: CL+TE together, duplicate or
 * malformed Content-Length, Transfer-Encoding not ending in chunked, bad chunk sizes,
 * obs-fold, whitespace before ':', control characters, bare CR/LF. What it lets through
 * and a proxy must not is checked here, once per request, before routing (`checkRequest`):
 * versions other than HTTP/1.x, several Host headers or an invalid Host, a
 * Transfer-Encoding other than plain `chunked` (or any on HTTP/1.0), a Connection header
 * nominating a field the proxy owns, too many header fields and overlong targets. An
 * absolute-form target's authority replaces Host (RFC 9112 §3.2.2), so routing, the Host
 * sent upstream and X-Forwarded-Host all agree. Every rejection closes the connection.
 *
 * `Upgrade` requests (WebSockets) arrive on node:http's 'upgrade' event with the raw socket.
 * Those that may become a tunnel, and pass the same checks, go to `onUpgrade`; every other one
 * is handed back to the server as a plain request (runtime/upgrade/upgrade-request.ts), so it
 * is checked, refused or served exactly like a request without `Upgrade`. An upgrade pipelined
 * behind a request still being answered waits, unread, until that response is written.
 *
 * Pipelined requests are served one at a time, as on the fast front (`inTurn`), and a response
 * that closes the connection ends it with a lingering close (`lingeringClose`).
 */
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import { Socket, type AddressInfo } from 'node:net'
import type { ResolvedConfig, ResolvedListen } from '../../resolved-config.js'
import type { FrontRequest } from '../../context.js'
import { isValidHost, withoutTrailingDot } from '../../canonical.js'
import { asksToClose, nominatesProtected } from '../../forward/hop-by-hop.js'
import { headerValues } from '../../forward/upstream-headers.js'
import { tunnelProtocol, plainRequestHead } from '../../upgrade/upgrade-request.js'
import { bodyBroken, expectContinue } from '../../body-guard.js'
import { STREAM_HIGH_WATER_MARK } from '../../stream-buffer.js'
import { FastFront } from './fast-front.js'
import { NextRequestClock } from './next-request-clock.js'
import { destroyWhenFlushed, lingerUntilClientCloses } from './lingering-close.js'
import type { FastExchangeRequest, FastResponse } from './fast-exchange.js'

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

/**
 * An `Upgrade` request that may become a tunnel (HTTP/1.1, no body, not h2c, checks passed).
 * The listener owns the socket until then; calling `asPlain` (synchronously, before touching
 * the socket) hands the request back to the HTTP server as a plain request.
 */
export type UpgradeListener = (req: IncomingMessage, socket: Socket, head: Buffer, asPlain: () => void) => void

/** What the fast front (fast-front.ts) asks of the runtime. */
export interface FastListener {
  /** Whether new connections go to the fast front first (else straight to node:http). */
  enabled(): boolean
  /** Serves the request and returns true, or returns false without having touched it: node:http then parses and serves it. */
  serve(req: FastExchangeRequest, res: FastResponse): boolean
}

/** Longest request target accepted (nginx: a request line over 8k → 414). */
export const MAX_TARGET_LENGTH = 8 * 1024
/** Most header fields in a request (Envoy's default is 100, HAProxy's 101). */
export const MAX_HEADER_COUNT = 100

/**
 * Most pipelined requests held (parsed, not yet served: `inTurn`) on a connection. node:http
 * parses all it reads and resumes reading whenever a response is written, so a client could
 * make it hold any number: past this, the rest is neither parsed nor served, and the connection
 * closes after the last held request (nginx reads pipelined requests one at a time; the fast
 * front stops reading instead, which node:http's parser does not allow).
 */
const MAX_HELD = 128

const METHODS = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS'

/** A request the proxy answers itself before routing (`OPTIONS *`: 200), or refuses. */
export interface Rejection { status: number; reason: string }

/** What the listener refused, for the log: the status sent (0: connection just closed) and why. */
export interface RefusedRequest {
  status: number; reason: string; method?: string; target?: string; clientIp?: string
  /** Whole connections refused (no request read): worth a warning, not a note. */
  connections?: boolean
}

interface ParserSocket extends Socket {
  _httpMessage?: ServerResponse | null
  /** node:http: reading stopped until its writes drain (its flood guard). */
  _paused?: boolean
  _handle?: { reading: boolean; readStart(): number } | null
  parser?: { incoming?: IncomingMessage | null } | null
  [kErrored]?: boolean
  /** Requests held by `inTurn`. */
  [kHeld]?: number
  /** More than MAX_HELD were pipelined: the last one held closes the connection. */
  [kOverflow]?: boolean
}
const kErrored = Symbol('switchyard.clientError')
const kHeld = Symbol('switchyard.held')
const kOverflow = Symbol('switchyard.overflow')

/** A request `inTurn` holds: null, or the refusal its turn brings instead (its body broke). */
interface HeldRequest extends IncomingMessage {
  [kBroken]?: Rejection | null
}
const kBroken = Symbol('switchyard.broken')

type Serve = (req: IncomingMessage, res: ServerResponse, expecting: boolean, broken?: Rejection) => void

export class NodeListener {
  readonly server: Server
  /** Client sockets taken over by an upgrade (handshake or tunnel): closed when a drain times out. */
  readonly #upgraded = new Set<Socket>()
  readonly #fast: FastFront | undefined

  constructor(
    readonly address: ResolvedListen, options: ResolvedConfig['server'], onRequest: RequestListener,
    onRefused?: (refused: RefusedRequest) => void, onUpgrade?: UpgradeListener, onFast?: FastListener,
  ) {
    const refuse = (res: ServerResponse, rejection: Rejection): void => {
      reject(res, rejection)
      const req = res.req
      onRefused?.({ ...rejection, method: req.method, target: req.url, clientIp: req.socket.remoteAddress })
    }
    // `expecting`: `Expect: 100-continue`, sent when the body is first read (body-guard.ts), so a
    // request refused here or by a hook gets its final status instead and the body is never
    // invited. `broken`: its body broke while it waited for its turn (inTurn, onClientError).
    const serve: Serve = (req, res, expecting, broken) => {
      const rejection = checkRequest(req)
      if (rejection === undefined) {
        // Never handed to the runtime: the 400 it would get had its body broken while served.
        if (broken !== undefined) return reject(res, broken)
        // llhttp keeps an HTTP/1.0 connection whose Connection lists keep-alive and close; close wins.
        if (req.httpVersionMinor === 0 && res.shouldKeepAlive && headerValues(req.rawHeaders, 'connection').some((v) => asksToClose(v))) res.shouldKeepAlive = false
        if (expecting) expectContinue(req)
        return onRequest(req, res)
      }
      if (rejection.status !== 200) return refuse(res, rejection)
      answerOptions(res)
      if (broken !== undefined) whenWritten(req.socket, res, () => endWith(req.socket))
    }
    const clock = new NextRequestClock(options.headersTimeout, options.keepAliveTimeout, TIMED_OUT)
    this.server = createServer({
      maxHeaderSize: options.maxHeaderSize,
      headersTimeout: options.headersTimeout,
      requestTimeout: 0, // bodies may stream for long; idle limits are the upstream's bodyIdle
      keepAliveTimeout: options.keepAliveTimeout,
      // Node only looks for expired header timeouts this often (default 30 s, which would let a
      // slowloris hold a connection far past headersTimeout).
      connectionsCheckingInterval: checkInterval(options),
      requireHostHeader: true,
      joinDuplicateHeaders: false,
      noDelay: true,
      highWaterMark: STREAM_HIGH_WATER_MARK,
    }, (req, res) => {
      clock.requestStarted(req.socket, res)
      inTurn(req, res, false, serve)
    })
    // One more than the limit, so a request over it is seen (Node silently drops the excess).
    this.server.maxHeadersCount = MAX_HEADER_COUNT + 1
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      clock.requestStarted(req.socket, res)
      inTurn(req, res, true, serve)
    })
    // No tunnelling: answer CONNECT instead of dropping the connection silently — after the
    // responses still owed on the connection, and not at all behind one that closed it (node:http
    // may parse a CONNECT from the same read as a refused request; node has taken its own 'error'
    // listener off, so a write after that close would crash the process).
    this.server.on('connect', (_req, socket: ParserSocket) => {
      socket.on('error', ignoreError)
      const answer = (): void => {
        if (!socket.writable) return void socket.destroy() // behind a response that closed the connection
        socket.end(`HTTP/1.1 405 Method Not Allowed\r\nallow: ${METHODS}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`)
      }
      const earlier = socket._httpMessage
      if (earlier) whenWritten(socket, earlier, answer)
      else answer()
    })
    if (onUpgrade !== undefined) {
      this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        clock.requestStarted(socket, undefined) // (a plain request after all: servePlain's response re-arms it)
        // Node removed its own handlers from the socket: until it is a tunnel or a plain
        // connection again, a reset must not become an uncaught 'error'.
        socket.on('error', ignoreError)
        const forget = (): void => void this.#upgraded.delete(socket)
        this.#upgraded.add(socket)
        socket.once('close', forget)
        const asPlain = (): void => {
          socket.off('error', ignoreError)
          socket.off('close', forget)
          forget()
          servePlain(this.server, req, socket, head)
        }
        const serve = (): void => {
          // An earlier response arms the keep-alive timeout when it finishes: neither a tunnel
          // nor the request served as plain may be cut by it.
          socket.setTimeout(0)
          if (!socket.writable) return void socket.destroy() // that response closed the connection
          if (tunnelProtocol(req) === undefined || checkRequest(req) !== undefined) return asPlain()
          onUpgrade(req, socket, head, asPlain)
        }
        const earlier = (socket as ParserSocket)._httpMessage
        if (!earlier) return serve()
        // Pipelined behind a request still being answered. Node queues the response of a plain
        // request until the earlier ones are written, but emits 'upgrade' at once: the socket
        // stays unread until that response is out, then the upgrade is served.
        whenWritten(socket, earlier, serve, true)
      })
    }
    this.server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Socket) => {
      // A body that broke: the request it belongs to is known (a head that broke has none yet).
      const incoming = (socket as ParserSocket).parser?.incoming
      const broken = incoming != null && !incoming.complete ? incoming : undefined
      const status = onClientError(err, socket)
      if (status === undefined) return
      onRefused?.({
        status, reason: `${err.code ?? 'error'}${err.reason ? `: ${err.reason}` : ''}`,
        method: broken?.method, target: broken?.url, clientIp: socket.remoteAddress,
      })
    })
    // Every connection node:http serves closes with a lingering close (see lingeringClose).
    const [nodeConnection] = this.server.listeners('connection') as Array<(socket: Socket) => void>
    this.server.removeListener('connection', nodeConnection!)
    const toNode = (socket: Socket): void => {
      socket.destroySoon = lingeringClose
      clock.takeOver(socket)
      nodeConnection!.call(this.server, socket)
    }
    if (onFast !== undefined) this.#fast = this.#takeConnections(options, onFast, toNode, onRefused)
    else this.server.on('connection', toNode)
    if (options.maxConnections !== undefined) this.#limitConnections(options.maxConnections, onRefused)
  }

  /** Node closes a connection over the limit at accept; the refusals are reported once a second at most. */
  #limitConnections(max: number, onRefused?: (refused: RefusedRequest) => void): void {
    this.server.maxConnections = max
    let dropped = 0
    this.server.on('drop', () => {
      if (dropped++ > 0) return
      setTimeout(() => {
        onRefused?.({ status: 0, reason: `server.maxConnections (${max}) reached: ${dropped} connection(s) closed at accept`, connections: true })
        dropped = 0
      }, 1000).unref()
    })
  }

  /**
   * Puts the fast front before node:http: every new connection is read by it first, and handed
   * to node:http's own connection listener (this server's, unchanged) when it meets a request
   * it does not serve.
   */
  #takeConnections(
    options: ResolvedConfig['server'], onFast: FastListener, toNode: (socket: Socket) => void, onRefused?: (refused: RefusedRequest) => void,
  ): FastFront {
    const server = this.server
    const front = new FastFront({
      headersTimeout: options.headersTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      maxHeaderSize: options.maxHeaderSize,
      checkInterval: checkInterval(options),
    }, {
      serve: (req, res) => checkRequest(req) === undefined && onFast.serve(req, res),
      handOff: (socket, bytes) => {
        // Paused so that node:http's 'data' listener does not start the flow before the bytes are back.
        socket.pause()
        socket.unshift(bytes)
        toNode(socket)
        socket.resume()
      },
      timedOut: (socket) => {
        onRefused?.({ status: 408, reason: 'ERR_HTTP_REQUEST_TIMEOUT', clientIp: socket.remoteAddress })
        return TIMED_OUT
      },
    })
    server.on('connection', (socket: Socket) => {
      if (onFast.enabled()) front.accept(socket)
      else toNode(socket)
    })
    return front
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', reject)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stop accepting; close idle keep-alive connections; wait up to `timeoutMs` for the rest. */
  async close(timeoutMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    this.#fast?.closeIdle()
    const timer = setTimeout(() => {
      this.server.closeAllConnections()
      this.#fast?.closeAll()
      // Tunnels are no HTTP connections any more: Node does not track them, this listener does.
      for (const socket of this.#upgraded) socket.destroy()
    }, timeoutMs)
    // Connections that finish a request while draining are closed instead of kept alive.
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 100)
    await closed
    clearTimeout(timer)
    clearInterval(idleSweep)
  }
}

/**
 * What llhttp accepts but a proxy must refuse; undefined for a request to route. One pass over
 * the raw headers with length checks first, so the common request costs a few comparisons.
 * Rewrites Host to an absolute-form target's authority.
 */
export function checkRequest(req: FrontRequest): Rejection | undefined {
  if (req.httpVersionMajor !== 1) return { status: 505, reason: `HTTP/${req.httpVersion} is not supported` }
  // TRACE would echo the request, headers the proxy added included, back to the client (nginx: 405).
  if (req.method === 'TRACE') return { status: 405, reason: 'TRACE is not allowed' }
  const url = req.url ?? ''
  if (url.length > MAX_TARGET_LENGTH) return { status: 414, reason: 'request target too long' }
  const raw = req.rawHeaders
  if (raw.length > MAX_HEADER_COUNT * 2) return { status: 431, reason: 'too many header fields' }
  let hostAt = -1
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    switch (name.length) {
      case 4: {
        if (name.toLowerCase() !== 'host') break
        if (hostAt >= 0) return { status: 400, reason: 'more than one Host header' }
        const host = raw[i + 1]!
        if (!isValidHost(host)) return { status: 400, reason: 'invalid Host header' }
        const bare = withoutTrailingDot(host)
        if (bare !== host) req.headers.host = raw[i + 1] = bare
        hostAt = i
        break
      }
      case 10: {
        if (name.toLowerCase() !== 'connection') break
        const value = raw[i + 1]!
        if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') break // the usual, cheaply
        const owned = nominatesProtected(value)
        if (owned !== undefined) return { status: 400, reason: `Connection header nominates ${owned}` }
        break
      }
      case 14: {
        if (name.toLowerCase() !== 'content-length') break
        // (llhttp has refused a malformed or conflicting one.) Past 2^53 − 1 a number cannot hold it:
        // forwarded, it would be rounded — another framing upstream than here (nginx: 400/413).
        const value = raw[i + 1]!
        if (value.length > 15 && !(Number(value) <= Number.MAX_SAFE_INTEGER)) return { status: 413, reason: 'Content-Length too large' }
        break
      }
      case 17:
        if (name.toLowerCase() !== 'transfer-encoding') break
        if (req.httpVersionMinor === 0) return { status: 400, reason: 'Transfer-Encoding in an HTTP/1.0 request' }
        if (raw[i + 1]!.trim().toLowerCase() !== 'chunked') return { status: 501, reason: 'unsupported Transfer-Encoding' }
        break
    }
  }
  if (url === '*') {
    // Asterisk-form is only for a server-wide OPTIONS (RFC 9112 §3.2.4): the proxy answers it.
    return req.method === 'OPTIONS' ? { status: 200, reason: 'OPTIONS *' } : { status: 400, reason: 'asterisk-form target is only for OPTIONS' }
  }
  if (url.charCodeAt(0) !== 47 /* / */) {
    // Absolute-form: its authority wins over Host (RFC 9112 §3.2.2) and replaces it here, so
    // that every later reader agrees. (canonicalize() refuses any other non-path target.)
    const m = /^https?:\/\/([^/?#]*)/i.exec(url)
    if (m) {
      const authority = m[1]!
      if (authority === '' || !isValidHost(authority)) return { status: 400, reason: 'invalid authority in request target' }
      const host = withoutTrailingDot(authority)
      if (hostAt >= 0) raw[hostAt + 1] = host
      else raw.push('Host', host)
      req.headers.host = host
    }
  }
  return undefined
}

/**
 * Serves a request now, or, pipelined behind responses still being written, when its own
 * response's turn comes. node:http emits a pipelined request as soon as it is parsed, but gives
 * its response the socket only once every earlier one is written ('socket'), and never if one of
 * them closes the connection. So pipelined requests are served one at a time, as on the fast
 * front, and none behind a response that closes the connection reaches an upstream (where a
 * DELETE would run with nobody told): not behind a refusal or node's own 400 for a missing Host,
 * and not behind a response that decides the close only as its head is written, after the
 * requests behind it were parsed — an HTTP/1.0 keep-alive request answered with a body of unknown
 * length, a handler's `Connection: close`. Those are left unanswered. A held request whose body
 * breaks (onClientError) gets the 400 at its turn instead of being served.
 */
function inTurn(req: IncomingMessage, res: ServerResponse, expecting: boolean, serve: Serve): void {
  const s = req.socket as ParserSocket
  // Behind a response that ended the connection while node:http was still parsing the read that
  // held this request (a refusal of a request with a body): never served (RFC 9112 §9.6).
  if (!s.writable) return
  if (s._httpMessage === res) return serve(req, res, expecting)
  if (s[kOverflow]) return // one of the rest of the read that overflowed
  const held = s[kHeld] ?? 0
  if (held === MAX_HELD) {
    // (Once node:http is done with this read: taking its parser off mid-read is not safe.)
    s[kOverflow] = true
    return void process.nextTick(stopParsing, s)
  }
  s[kHeld] = held + 1
  ;(req as HeldRequest)[kBroken] = null
  // (Served on the next tick: 'socket' comes before node:http flushes what the response holds.)
  res.once('socket', () => process.nextTick(takeTurn, req, res, expecting, serve))
}

function takeTurn(req: HeldRequest, res: ServerResponse, expecting: boolean, serve: Serve): void {
  const s = req.socket as ParserSocket
  const held = (s[kHeld] = s[kHeld]! - 1)
  const broken = req[kBroken] ?? undefined
  req[kBroken] = undefined
  if (!s.writable) return // (destroyed, or ended by a response that closed the connection)
  if (held === 0 && s[kOverflow]) res.shouldKeepAlive = false // the last one answered
  serve(req, res, expecting, broken)
}

/**
 * node:http's `destroySoon`, which it calls once a response that closes the connection is
 * written: a lingering close, as nginx's and the fast front's (#closeSoon). Node's own ends the
 * socket and destroys it when flushed; if the client sent bytes that were not read yet (requests
 * or an upload behind that response), the kernel then resets the connection and throws away the
 * part of the response not yet delivered. Here node:http's parser is taken off the socket
 * (nothing more is served on it), and what arrives is read and dropped until the client closes
 * its side, or LINGER_MS after the response is flushed. Sockets node:http no longer parses (an
 * upgrade, a tunnel) close as before.
 */
function lingeringClose(this: ParserSocket): void {
  const s = this
  if (!s.parser) return Socket.prototype.destroySoon.call(s)
  if (s.destroyed) return
  if (s.writable) s.end()
  if (s.readableEnded) return destroyWhenFlushed(s)
  stopParsing(s)
  lingerUntilClientCloses(s)
}

/** node:http parses nothing more on `s`: what the client sends from now on is read and dropped. */
function stopParsing(s: ParserSocket): void {
  if (s.destroyed || !s.parser) return
  // Without node:http's 'data' listener and with one of ours (its listener wrapper then takes
  // the socket off the native parser), the bytes go nowhere.
  s.removeAllListeners('data')
  s.on('data', ignoreData)
  s._paused = false
  s.resume()
  // node:http may have stopped the handle itself (a full request buffer, its flood guard) while
  // the stream still counts a read as pending: start it again, as its own 'resume' listener does.
  const handle = s._handle
  if (handle && !handle.reading) {
    handle.reading = true
    handle.readStart()
  }
}

function ignoreData(): void {}

/** How often expired header and keep-alive timeouts are looked for (ms). */
function checkInterval(options: ResolvedConfig['server']): number {
  return Math.min(1000, Math.max(25, Math.floor(options.headersTimeout / 4)))
}

function ignoreError(): void {}

/**
 * Feeds an upgrade request back to `server` as a new connection whose first bytes are the
 * request without its `upgrade` token, then whatever followed it (its body, pipelined
 * requests). Node stopped reading the socket natively at the upgrade and never resumes that
 * (its handle stays marked consumed): the new parser reads through 'data' events, so the
 * unshifted bytes come first, in order.
 */
function servePlain(server: Server, req: IncomingMessage, socket: Socket, head: Buffer): void {
  if (socket.destroyed) return
  socket.unshift(head.length === 0 ? plainRequestHead(req) : Buffer.concat([plainRequestHead(req), head]))
  server.emit('connection', socket)
}

function answerOptions(res: ServerResponse): void {
  res.writeHead(200, { allow: METHODS, 'content-length': 0 })
  res.end()
}

function reject(res: ServerResponse, { status, reason }: Rejection): void {
  const body = `${status} ${reason}\n`
  if (status === 405) res.setHeader('allow', METHODS)
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    connection: 'close',
  })
  res.end(body)
}

/** The 408 for a head (or a next request) that did not come in time: the fast front's and the next-request clock's. */
const TIMED_OUT = errorResponse({ name: 'Error', message: 'request timeout', code: 'ERR_HTTP_REQUEST_TIMEOUT' })

function errorResponse(err: NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: number; reason?: string }): string {
  let status = 400
  let text = 'Bad Request'
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      if (requestLineTooLong(err.rawPacket, err.bytesParsed)) [status, text] = [414, 'URI Too Long']
      else [status, text] = [431, 'Request Header Fields Too Large']
      break
    case 'ERR_HTTP_REQUEST_TIMEOUT': [status, text] = [408, 'Request Timeout']; break
    case 'HPE_INVALID_VERSION':
      // A well-formed version llhttp does not speak (HTTP/1.2, HTTP/3.0); not a bare LF after it.
      if (err.reason === 'Invalid HTTP version') [status, text] = [505, 'HTTP Version Not Supported']
      break
  }
  return `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${text.length + 1}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${text}\n`
}

/** The head overflowed while still in the request line (no LF yet in a packet that starts one). */
function requestLineTooLong(packet: unknown, parsed: number | undefined): boolean {
  if (!Buffer.isBuffer(packet)) return false
  const lf = packet.indexOf(10)
  if (lf >= 0 && lf < (parsed ?? packet.length)) return false
  return /^[A-Z]+ /.test(packet.toString('latin1', 0, 24))
}

/**
 * A request llhttp could not parse. The connection is always closed: its framing can no longer
 * be trusted. The error response must not overtake responses to earlier pipelined requests
 * still being written, nor land inside one: it is written once they are done. A request whose
 * body broke off mid-stream is aborted by that close (and with it its upstream exchange).
 */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): number | undefined {
  const s = socket as ParserSocket
  if (s[kErrored]) return undefined
  s[kErrored] = true
  // Bytes behind a request that closes the connection (llhttp will not parse them): nothing was
  // refused. That request is answered as usual and the rest read and dropped (the lingering
  // close its response ends with); closing now would reset what is still being delivered.
  if (err.code === 'HPE_CLOSED_CONNECTION') {
    stopParsing(s)
    return undefined
  }
  // The client went away (mid-request or not): nothing to answer; closing aborts what is in flight.
  if (!s.writable || err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE') {
    s.destroy()
    return undefined
  }
  const reply = errorResponse(err)
  const status = Number(reply.slice(9, 12))
  const active = s._httpMessage
  const incoming = s.parser?.incoming as HeldRequest | null | undefined
  if (incoming && !incoming.complete && incoming[kBroken] === null) {
    // Pipelined, not served yet (inTurn): its turn brings the 400 (and the close), right after
    // the responses before it. It never reaches the runtime, nor an upstream.
    incoming[kBroken] = { status, reason: reply.slice(13, reply.indexOf('\r')) }
    return status
  }
  if (!active) {
    endWith(s, reply)
  } else if (incoming && !incoming.complete && active.req === incoming) {
    // The request being answered broke mid-body. Once its response is out, Node no longer
    // aborts it when the socket closes: do it here, so its upstream exchange ends too.
    s.once('close', () => incoming.destroyed || incoming.destroy(err))
    if (!active.headersSent) {
      reject(active, { status, reason: reply.slice(13, reply.indexOf('\r')) })
      // Its upstream exchange stops now, not at the close: llhttp refuses some framing only after
      // it has handed the head over (`Transfer-Encoding: chunked<TAB>`), and that head must not
      // reach an upstream (the exchange writes at the end of this turn at the earliest).
      bodyBroken(incoming, `request body refused (${status}): ${err.code ?? 'error'}`)
      return status
    }
    // Already answered (or being answered): only the connection closes, after or instead.
    if (active.writableEnded) whenWritten(s, active, () => endWith(s))
    else s.destroy()
    return 0
  } else {
    whenWritten(s, active, () => endWith(s, reply))
  }
  return status
}

/** Writes `bytes` (if any), then closes the connection once they are flushed. */
function endWith(s: Socket, bytes?: string): void {
  if (!s.writable) return void s.destroy()
  s.end(bytes ?? '', () => s.destroy())
}

/**
 * Calls `then` once every response queued on the socket has been written (never if the socket
 * is destroyed first). `relayDrain`: Node's own 'drain' relay was taken off the socket (an
 * upgrade): pass the socket's 'drain' on to the response meanwhile, or one that filled the
 * socket's buffer would wait forever.
 */
function whenWritten(s: ParserSocket, res: ServerResponse, then: () => void, relayDrain = false): void {
  let called = false
  const drain = (): void => void (res.writableNeedDrain && res.emit('drain'))
  const next = (): void => {
    if (called) return
    called = true
    if (relayDrain) s.off('drain', drain)
    setImmediate(() => {
      if (s.destroyed) return
      const current = s._httpMessage
      if (current && !current.writableFinished) whenWritten(s, current, then, relayDrain)
      else then()
    })
  }
  if (res.writableFinished) return next()
  if (relayDrain) s.on('drain', drain)
  res.once('finish', next)
  res.once('close', next)
}

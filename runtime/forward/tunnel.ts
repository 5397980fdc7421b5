/**
 * An HTTP/1.1 Upgrade tunnel (WebSockets and any other protocol but h2c) through one upstream
 * server. The server is chosen as for a forwarded request — health filter, balancer, sticky
 * cookie, maxConns and its queue, retries to another server — and sent the request head with
 * the usual upstream header rules (Host, X-Forwarded-*, the route's request rules) plus
 * `Connection: upgrade` and `Upgrade`. Its answer decides:
 *
 * - `101 Switching Protocols`: the head (upgrade/switching-head.ts) goes to the client, then the
 *   two sockets are joined (upgrade/splice-sockets.ts) until either closes, errors, or the tunnel
 *   carries no byte for `timeouts.tunnelIdle`. The server's slot (inflight, maxConns) is held
 *   meanwhile.
 * - any other response is relayed as a normal one, and the connection closed.
 * - a failure before the answer is 502/504 (503 with no server), with the same log lines and
 *   passive health reports as forwarding.
 *
 * The connection is a plain `net`/`tls` socket of its own (never a pooled keep-alive one); node:http's
 * client parses the answer. `timeouts.connect` and `timeouts.responseHeaders` bound the handshake,
 * `timeouts.bodyIdle` a relayed answer's body, and `timeouts.total` everything until the switch
 * or the relayed answer's end; an open tunnel has only `tunnelIdle`.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect as netConnect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { RequestContext } from '../context.js'
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { ResolvedRetry } from '../upstream/upstream-settings.js'
import type { PoolSettings } from '../upstream-client/pool-settings.js'
import type { RuntimeLog } from '../log.js'
import type { ResponseLike } from '../handle/send-web-response.js'
import { buildUpstreamHeaders, forwardedInfo } from './upstream-headers.js'
import { stripHopByHop } from './response-headers.js'
import { classifyUpstreamError, codedError } from './upstream-error.js'
import { outcomeKind, retryDelay, type AttemptOutcome } from './retry-rules.js'
import { firstServer, retryPolicy, retryServer, stickyCookieFor, waitForServer } from './attempts.js'
import { ClientSink } from './response-sink.js'
import { reportFailingStatus, reportPassiveFailure } from './passive-report.js'
import { sendError } from '../respond.js'
import { failedWebResponse, sendWebResponse } from '../handle/send-web-response.js'
import { attachToSocket } from '../upgrade/socket-response.js'
import { spliceSockets } from '../upgrade/splice-sockets.js'
import { switchingHead } from '../upgrade/switching-head.js'

/** `timeouts.tunnelIdle` when a config does not say (HAProxy's recommended `timeout tunnel`). */
export const DEFAULT_TUNNEL_IDLE = 3_600_000

export interface TunnelStart {
  /** Request headers (flat) to build the upstream's from, instead of the client's raw ones (hooks changed them). */
  rawHeaders?: readonly string[] | undefined
  /** A server of the group to use instead of the balancer's pick (a `selectUpstream` hook's choice). */
  server?: string | undefined
}

export class Tunnel {
  /** The exchange is over: `done` was called. */
  ended = false
  #group!: UpstreamGroup
  #path = '/'
  #start: TunnelStart = {}
  #retry: ResolvedRetry | undefined
  /** The server whose slot this tunnel holds (inflight, maxConns), if any. */
  #member: GroupMember | undefined
  #request: ClientRequest | undefined
  #upstream: Socket | undefined
  #timer: NodeJS.Timeout | undefined
  /** `timeouts.total`, from the first start to the switch or the end of a relayed answer. */
  #deadline: NodeJS.Timeout | undefined
  #leaveQueue: (() => void) | undefined
  #attempts = 0
  #tried: GroupMember[] | undefined
  #sentAt = 0
  /** An HTTP answer is attached to the client socket. */
  #answering = false
  #switched = false
  #bytesIn = 0
  /** Bytes the client sent after its head, before the switch. */
  #pending: Buffer[] = []
  #pendingBytes = 0

  /**
   * `done` is called once, when the exchange is over: with the bytes received from the client
   * when the tunnel was open (status 101), without for an HTTP answer or a client that left.
   */
  constructor(
    readonly ctx: RequestContext, readonly client: Socket, readonly head: Buffer, readonly protocol: string,
    readonly log: RuntimeLog, readonly done: (bytesIn?: number) => void,
  ) {
    client.once('close', this.#clientClosed)
    client.once('end', this.#clientClosed)
    // Read during the handshake (a paused socket would never notice the client leaving);
    // what arrives is kept for the upstream, up to a bound.
    client.on('data', this.#early)
  }

  /** Picks a server of `group` and opens the tunnel to `path` on it. */
  start(group: UpstreamGroup, path: string, start: TunnelStart = {}): void {
    if (this.ended) return
    const ctx = this.ctx
    this.#group = group
    this.#path = path
    this.#start = start
    ctx.upstreamGroup = group.name
    const total = group.config.timeouts.total
    if (this.#deadline === undefined && total > 0) this.#deadline = setTimeout(this.#overdue, total)
    const member = firstServer(ctx, group, start.server)
    if (member === undefined) {
      if (group.saturated()) return this.#queue()
      this.log.warn(`no server available in upstream '${group.name}'`, { route: ctx.route?.name })
      return this.fail(503, `no server available in upstream '${group.name}'`, ['retry-after', '1'])
    }
    this.#retry = retryPolicy(ctx, group)
    this.#attempt(member)
  }

  /** Answers with an error instead of switching (the connection closes after it). */
  fail(status: number, reason: string, extra?: string[]): void {
    if (this.ended || this.#switched) return
    if (this.#answering && this.ctx.res.headersSent) return void this.client.destroy()
    clearTimeout(this.#deadline) // the proxy's own answer, not the upstream's
    if (this.#answer()) sendError(this.ctx, status, reason, extra)
  }

  /** Answers with a hook's Response instead of switching. */
  async respond(response: ResponseLike): Promise<void> {
    clearTimeout(this.#deadline) // not an upstream exchange
    if (this.ended || !this.#answer()) return void (await response.body?.cancel().catch(() => {}))
    try {
      await sendWebResponse(this.ctx, response, undefined)
    } catch (err) {
      failedWebResponse(this.ctx, err, 'response body failed', 502)
    }
  }

  /** Every server is at maxConns: wait (bounded) for a slot, or 503. */
  #queue(): void {
    const group = this.#group
    this.#leaveQueue = waitForServer(this.ctx, group, this.log, () => {
      this.#leaveQueue = undefined
      this.start(group, this.#path, this.#start)
    }, () => {
      this.#leaveQueue = undefined
      this.fail(503, `every server of upstream '${group.name}' is busy`, ['retry-after', '1'])
    })
  }

  #attempt(member: GroupMember): void {
    const ctx = this.ctx
    const group = this.#group
    this.#member = member
    this.#attempts++
    ctx.server = member.origin
    member.state.inflight++
    member.state.requests++
    let request: ClientRequest
    try {
      const headers = buildUpstreamHeaders(
        this.#start.rawHeaders ?? ctx.req.rawHeaders, forwardedInfo(ctx), group.config.host, member.hostHeader, ctx.route!.requestHeaders,
      )
      headers.push('connection', 'upgrade', 'upgrade', this.protocol)
      // node:http would frame a bodiless POST (say) as chunked: say "no body" explicitly.
      if (!BODYLESS.has(ctx.method) && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'content-length')) headers.push('content-length', '0')
      const { socket, ready } = connectTo(member.pool.settings)
      this.#upstream = socket
      request = httpRequest({
        method: ctx.method, path: this.#path, headers, setHost: false, createConnection: () => socket, maxHeaderSize: 64 * 1024,
      })
      this.#request = request
      this.#bound(request, socket, ready)
    } catch (err) {
      // A header node:http refuses to send (invalid characters): nothing went out.
      this.#drop()
      this.#release()
      ctx.error = `invalid upstream request: ${(err as Error).message}`
      this.log.error(`upstream request failed: ${ctx.error}`, { route: ctx.route?.name, upstream: member.origin, method: ctx.method, target: ctx.target })
      return this.fail(502, ctx.error)
    }
    request.on('upgrade', (res: IncomingMessage, upstream: Socket, upHead: Buffer) => {
      if (request === this.#request) this.#switch(res, upstream, upHead)
      else upstream.destroy()
    })
    request.on('response', (res: IncomingMessage) => {
      if (request === this.#request) this.#relay(request, res)
      else res.destroy()
    })
    request.on('error', (err: Error) => {
      if (request === this.#request) this.#failed(err)
    })
    request.end()
  }

  /** The connect and response-header timeouts of one attempt. */
  #bound(request: ClientRequest, socket: Socket, ready: 'connect' | 'secureConnect'): void {
    const { connect, responseHeaders } = this.#group.config.timeouts
    const headersTimer = (): void => {
      if (this.#group.measuresLatency) this.#sentAt = performance.now()
      if (responseHeaders <= 0) return
      this.#timer = setTimeout(() => {
        if (this.#group.measuresLatency) this.#sample()
        request.destroy(codedError('SWITCHYARD_HEADERS_TIMEOUT', 'upstream response header timeout'))
      }, responseHeaders)
    }
    socket.once(ready, () => {
      if (request !== this.#request) return
      clearTimeout(this.#timer)
      headersTimer()
    })
    if (connect > 0) {
      this.#timer = setTimeout(() => request.destroy(codedError('SWITCHYARD_CONNECT_TIMEOUT', 'upstream connect timeout')), connect)
    }
  }

  /** The upstream switched: send its 101 to the client and splice the sockets. */
  #switch(res: IncomingMessage, upstream: Socket, upHead: Buffer): void {
    clearTimeout(this.#timer)
    const ctx = this.ctx
    const member = this.#member!
    if (this.ended) return void upstream.destroy()
    if (this.#group.measuresLatency) this.#sample()
    const offside = switchedElsewhere(res, this.protocol)
    if (offside !== undefined) {
      upstream.destroy()
      ctx.error = `invalid upstream response (101 ${offside})`
      this.log.error(`upstream request failed: ${ctx.error}`, { route: ctx.route?.name, upstream: member.origin, method: ctx.method, target: ctx.target })
      return this.fail(502, ctx.error)
    }
    let head: string
    try {
      head = switchingHead(res.rawHeaders, ctx.route!.responseHeaders, stickyCookieFor(ctx, this.#group, member))
    } catch (err) {
      upstream.destroy()
      ctx.error = `invalid upstream response header: ${(err as Error).message}`
      this.log.error(`upstream request failed: ${ctx.error}`, { route: ctx.route?.name, upstream: member.origin, method: ctx.method, target: ctx.target })
      return this.fail(502, ctx.error)
    }
    this.#switched = true
    clearTimeout(this.#deadline)
    this.#upstream = upstream
    ctx.status = 101
    this.#splice(head, upstream, upHead)
  }

  /** The client gets the 101; from now on bytes flow both ways until either side closes. */
  #splice(head: string, upstream: Socket, upHead: Buffer): void {
    const client = this.client
    client.pause() // no 'data' lost between the handshake reader and the pipe
    client.off('data', this.#early)
    client.off('close', this.#clientClosed)
    client.off('end', this.#clientClosed)
    const toUpstream = this.head.length > 0 ? [this.head, ...this.#pending] : this.#pending
    this.#pending = []
    const idleMs = this.#group.config.timeouts.tunnelIdle ?? DEFAULT_TUNNEL_IDLE
    spliceSockets(client, upstream, { toClient: upHead.length > 0 ? [head, upHead] : [head], toUpstream, idleMs }, (report) => {
      this.ctx.bytes = report.bytesOut
      this.ctx.error ??= report.error
      this.#bytesIn = report.bytesIn
      this.#end()
    })
  }

  /** The upstream answered without switching: relay its response, then close. */
  #relay(request: ClientRequest, res: IncomingMessage): void {
    clearTimeout(this.#timer)
    const ctx = this.ctx
    const member = this.#member!
    const status = res.statusCode ?? 0
    if (this.#group.measuresLatency) this.#sample()
    res.on('error', () => {}) // reported through 'close' below
    if (status === 101) {
      // A 101 without `Connection: upgrade` or without `Upgrade`: node:http would read the new
      // protocol as a body.
      this.#drop()
      const what = res.headers.upgrade === undefined ? 'Upgrade' : 'Connection: upgrade'
      return this.#failed(codedError('SWITCHYARD_BAD_UPSTREAM_RESPONSE', `invalid upstream response (101 without ${what})`))
    }
    if (status >= 400) { // failOn and retry `on` list statuses from 400 to 599
      reportFailingStatus(this.#group, member, this.log, status)
      if (this.#retry?.statuses?.[status] === 1 && this.#planRetry(status)) return
    }
    let headers: string[]
    try {
      headers = stripHopByHop([...res.rawHeaders], status) // (filters in place: a copy)
    } catch (err) {
      this.#drop()
      return this.#failed(err as Error)
    }
    const cookie = stickyCookieFor(ctx, this.#group, member)
    if (cookie !== undefined) headers.push('set-cookie', cookie)
    if (!this.#answer()) return void request.destroy()
    const sink = new ClientSink(ctx, ctx.route!.responseHeaders)
    // `bodyIdle` bounds each wait for the upstream's next chunk (not a wait for the client to read).
    const bodyIdle = this.#group.config.timeouts.bodyIdle
    const awaitBody = (): void => {
      clearTimeout(this.#timer)
      if (bodyIdle > 0) this.#timer = setTimeout(() => this.#cutAnswer('upstream body idle timeout'), bodyIdle)
    }
    const resume = (): void => {
      awaitBody()
      res.resume()
    }
    if (!sink.head(status, headers, resume)) return void request.destroy()
    awaitBody()
    res.on('data', (chunk: Buffer) => {
      if (sink.data(chunk)) return awaitBody()
      clearTimeout(this.#timer)
      res.pause()
    })
    res.once('end', () => {
      clearTimeout(this.#timer)
      clearTimeout(this.#deadline)
      sink.end()
      request.destroy()
    })
    res.once('close', () => {
      if (res.complete || ctx.res.destroyed) return // (destroyed: cut short already, its reason kept)
      this.#cutAnswer(classifyUpstreamError(codedError('ECONNRESET', 'upstream closed the connection')).reason)
    })
  }

  /** The answer under way cannot complete: close the client connection (never a clean-looking truncated response). */
  #cutAnswer(reason: string): void {
    const ctx = this.ctx
    if (this.ended) return
    clearTimeout(this.#timer)
    ctx.error ??= `${reason} (after response started)`
    if (this.#member !== undefined) this.#member.state.failures++
    this.log.error(`upstream request failed: ${ctx.error}`, { route: ctx.route?.name, upstream: ctx.server, method: ctx.method, target: ctx.target })
    this.client.destroy()
  }

  /** `timeouts.total` is over before the switch: 504, or the relayed answer cut short. */
  readonly #overdue = (): void => {
    if (this.ended || this.#switched) return
    const ctx = this.ctx
    const reason = 'upstream total timeout'
    if (this.#answering) return this.#cutAnswer(reason)
    clearTimeout(this.#timer) // a handshake timeout or a retry's delay
    this.#leaveQueue?.()
    if (this.#member !== undefined) {
      this.#member.state.failures++
      reportPassiveFailure(this.#group, this.#member, this.log, reason, 'timeout')
    }
    this.#drop()
    ctx.error = reason
    this.log.error(`upstream request failed: ${reason}`, { route: ctx.route?.name, upstream: ctx.server, method: ctx.method, target: ctx.target })
    this.fail(504, reason)
  }

  /** The attempt failed before an answer: retry elsewhere, or 502/504. */
  #failed(err: Error): void {
    clearTimeout(this.#timer)
    const ctx = this.ctx
    const member = this.#member
    if (this.ended || member === undefined) return
    if (this.#answering) {
      ctx.error ??= `${classifyUpstreamError(err).reason} (after response started)`
      return void this.client.destroy()
    }
    const failure = classifyUpstreamError(err)
    const kind = outcomeKind(err)
    member.state.failures++
    if (kind !== undefined) reportPassiveFailure(this.#group, member, this.log, failure.reason, kind)
    if (kind !== undefined && this.#planRetry(kind)) {
      this.log.warn(`retrying: ${failure.reason} (${member.origin})`, { route: ctx.route?.name, upstream: member.origin })
      return
    }
    this.#drop()
    ctx.error = failure.reason
    this.log.error(`upstream request failed: ${failure.reason}`, { route: ctx.route?.name, upstream: member.origin, method: ctx.method, target: ctx.target })
    this.fail(failure.status, failure.reason)
  }

  /** Retries on another server when the rules allow; true when one is under way. */
  #planRetry(outcome: AttemptOutcome): boolean {
    const retry = this.#retry
    const member = this.#member!
    if (retry === undefined || this.ended) return false
    const ended = { outcome, attempts: this.#attempts, member, method: this.ctx.method, bodyReplayable: true }
    const next = retryServer(this.ctx, this.#group, retry, this.log, ended, (this.#tried ??= []))
    if (next === undefined) return false
    this.#drop()
    this.#release()
    const delay = retryDelay(retry, this.#attempts)
    if (delay <= 0) this.#attempt(next)
    else this.#timer = setTimeout(() => this.ended || this.#attempt(next), delay)
    return true
  }


  #sample(): void {
    const now = performance.now()
    this.#member!.state.recordLatency(now - this.#sentAt, now)
  }

  /**
   * From now on the client gets an HTTP response on its socket; the exchange ends when it closes.
   * False (and the exchange over) when the socket cannot take it.
   */
  #answer(): boolean {
    if (this.#answering) return true
    this.#answering = true
    const client = this.client
    // The rest of what the client sends is never parsed: read on (to notice it leaving), drop it.
    client.off('data', this.#early)
    client.on('data', ignore)
    // A client that ends its side leaves (the connection closes after the answer anyway): an
    // answer still waiting for the upstream must not hold both connections.
    client.once('end', () => this.ctx.res.writableEnded || client.destroy())
    this.#pending = []
    // A tunnel's request came through node:http's 'upgrade' (the fast front hands upgrades over).
    if (!attachToSocket(this.ctx.res as ServerResponse, client)) {
      this.ctx.error ??= 'client connection still busy with an earlier response'
      this.#end()
      return false
    }
    this.ctx.res.once('close', () => this.#end())
    return true
  }

  readonly #early = (chunk: Buffer): void => {
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    // Enough: stop reading (the handshake timeouts still bound the wait).
    if (this.#pendingBytes >= EARLY_LIMIT) this.client.pause()
  }

  /** The client left (or ended its side) before the switch. */
  readonly #clientClosed = (): void => {
    if (this.#switched || this.#answering) return
    this.ctx.error ??= 'client closed the connection'
    this.client.destroy()
    this.#end()
  }

  /** Abandons the attempt's exchange (its late events are ignored). */
  #drop(): void {
    const request = this.#request
    this.#request = undefined
    request?.destroy()
    this.#upstream?.destroy()
    this.#upstream = undefined
  }

  /** Gives the server's slot back. */
  #release(): void {
    const member = this.#member
    if (member === undefined) return
    this.#member = undefined
    member.state.inflight--
    if (this.#group.limited) this.#group.release()
  }

  #end(): void {
    if (this.ended) return
    this.ended = true
    clearTimeout(this.#timer)
    clearTimeout(this.#deadline)
    this.#leaveQueue?.()
    this.#request?.destroy()
    this.#upstream?.destroy()
    this.#release()
    this.done(this.#switched ? this.#bytesIn : undefined)
  }
}

/** Most bytes kept from a client before the upstream switched (then the client is not read). */
const EARLY_LIMIT = 64 * 1024

function ignore(): void {}

/** Methods node:http sends without a body unless told otherwise. */
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'])

/**
 * A new connection to the server its pool's settings name (host, port, TLS as the pool's own
 * connections have them), and the event that says it is ready for the request.
 */
function connectTo(s: PoolSettings): { socket: Socket; ready: 'connect' | 'secureConnect' } {
  if (s.secure) {
    const options = { host: s.host, port: s.port, ALPNProtocols: ['http/1.1'], ...(isIP(s.host) === 0 ? { servername: s.host } : {}), ...s.tls }
    return { socket: tlsConnect(options), ready: 'secureConnect' }
  }
  // Half-open allowed: a FIN from one side is passed on (pipe) without closing the other direction.
  return { socket: netConnect({ host: s.host, port: s.port, allowHalfOpen: true }), ready: 'connect' }
}

/**
 * Why a 101 may not be followed: HTTP/1.0 has no 101, and a server switches only to protocols the
 * client listed, naming them in its Upgrade field (RFC 9110 §7.8, §15.2.2) — a switch to another
 * (h2c for a WebSocket request) is not a tunnel the client can speak. undefined: fine.
 */
function switchedElsewhere(res: IncomingMessage, asked: string): string | undefined {
  if (res.httpVersionMajor !== 1 || res.httpVersionMinor !== 1) return `in HTTP/${res.httpVersion}`
  const named = res.headers.upgrade
  if (named === undefined || named.trim() === '') return 'without Upgrade'
  const offered = new Set(asked.split(',').map((p) => p.trim().toLowerCase()))
  for (const p of named.split(',')) {
    const name = p.trim().toLowerCase()
    if (name !== '' && !offered.has(name)) return `to a protocol the client did not ask for: ${p.trim()}`
  }
  return undefined
}

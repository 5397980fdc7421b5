/**
 * The forward path: pick a server, send the request through its connection pool
 * (runtime/upstream-client), and hand the response to a ResponseSink (by default streamed straight
 * into the client's ServerResponse). No Web Request/Response is built here; one handler
 * object per request carries state across attempts.
 *
 * Around that: retries to another server (retry-rules.ts decides), passive health reports,
 * latency samples for p2c, the sticky cookie, and the maxConns queue. The sink only ever sees
 * the final attempt: a response that will be retried is drained and dropped, never written.
 */
import type { UpstreamHandler } from '../upstream-client/types.js'
import type { ChunkHolder } from '../upstream-client/read-buffers.js'
import type { IncomingMessage } from 'node:http'
import type { RequestContext } from '../context.js'
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { ResolvedRetry } from '../upstream/upstream-settings.js'
import type { RuntimeLog } from '../log.js'
import { buildUpstreamHeaders, forwardedInfo } from './upstream-headers.js'
import { stripHopByHop } from './response-headers.js'
import { classifyUpstreamError, codedError } from './upstream-error.js'
import { ClientSink, type ResponseSink } from './response-sink.js'
import { sendError } from '../respond.js'
import { reportFailingStatus, reportPassiveFailure } from './passive-report.js'
import { outcomeKind, retryDelay, isIdempotent, replayableLength, type AttemptOutcome } from './retry-rules.js'
import { firstServer, retryPolicy, retryServer, stickyCookieFor, waitForServer } from './attempts.js'
import { readBody } from './read-body.js'
import { balancerEvent, retryPickEvent } from '../trace.js'

export interface ForwardOptions {
  /** Where the response goes. Default: streamed to the client. */
  sink?: ResponseSink
  /** Request headers to set upstream, replacing any of the same name (e.g. cache validators). */
  setHeaders?: ReadonlyArray<readonly [string, string]>
  /** Method to send instead of the client's (e.g. GET for a HEAD the cache fills). */
  method?: string
  /** Request headers (flat [name, value, …]) to build the upstream's from, instead of the client's raw ones. */
  rawHeaders?: readonly string[]
  /** Body to send instead of the client's stream (null: none). Its length is unknown: sent chunked. */
  body?: import('node:stream').Readable | null
  /** A server of the group to use instead of the balancer's pick (a `selectUpstream` hook's choice). */
  server?: string
}

export function forwardRequest(ctx: RequestContext, group: UpstreamGroup, path: string, log: RuntimeLog, options?: ForwardOptions): void {
  const member = firstServer(ctx, group, options?.server)
  ctx.upstreamGroup = group.name
  if (ctx.trace !== undefined) ctx.trace.push(balancerEvent(group, ctx, member, options?.server))
  if (member === undefined) {
    if (group.saturated()) return queueRequest(ctx, group, path, log, options)
    log.warn(`no server available in upstream '${group.name}'`, { route: ctx.route?.name })
    return sendError(ctx, 503, `no server available in upstream '${group.name}'`, ['retry-after', '1'])
  }
  const retry = retryPolicy(ctx, group)
  const method = options?.method ?? ctx.method
  const handler = new ProxyHandler(ctx, group, path, method, options?.sink ?? new ClientSink(ctx, ctx.route!.responseHeaders), options?.setHeaders, retry, log)
  if (options?.rawHeaders) handler.rawHeaders = options.rawHeaders
  if (options?.body !== undefined) {
    // A replacement body is a one-shot stream: it cannot be replayed, so only connect errors retry.
    handler.streamBody = options.body
    return handler.start(member)
  }
  // A body that has all arrived, none of it read (the fast front's small POST), goes as one
  // buffer, with the head in one write; it is sent again by a retry only within maxReplayBody.
  if (ctx.hasBody) handler.body = wholeBody(ctx.bodyStream)
  if (handler.body !== undefined) return handler.start(member)
  // A small body of a request that may be retried after it reached a server is read first,
  // so it can be sent again; anything else streams (and is retried on connect errors only).
  if (retry !== undefined && ctx.hasBody && (isIdempotent(method) || retry.retryNonIdempotent)) {
    const length = replayableLength(ctx, retry.maxReplayBody)
    if (length >= 0) {
      return readBody(ctx.bodyStream, length, (body) => {
        if (body === undefined) {
          ctx.error = 'client request aborted'
          return handler.cancel()
        }
        handler.body = body
        handler.start(member)
      })
    }
  }
  handler.start(member)
}

/** The body of `req` as one buffer, if every byte of it is in the request's buffer and nobody has read any. */
function wholeBody(req: IncomingMessage): Buffer | undefined {
  if (!req.complete || req.readableFlowing !== null || req.readableLength === 0) return undefined
  if (req.readableLength !== Number(req.headers['content-length'])) return undefined
  return req.read() as Buffer
}

/** Every server is at maxConns: wait (bounded) for a slot, or 503. */
function queueRequest(ctx: RequestContext, group: UpstreamGroup, path: string, log: RuntimeLog, options?: ForwardOptions): void {
  const leave = waitForServer(ctx, group, log, () => {
    ctx.onClientAbort = undefined
    forwardRequest(ctx, group, path, log, options)
  }, () => {
    ctx.onClientAbort = undefined
    sendError(ctx, 503, `every server of upstream '${group.name}' is busy`, ['retry-after', '1'])
  })
  if (leave !== undefined) ctx.onClientAbort = leave
}

function setHeaders(list: string[], set: ReadonlyArray<readonly [string, string]>): string[] {
  const names = new Set(set.map(([n]) => n.toLowerCase()))
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) if (!names.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!)
  for (const [n, v] of set) out.push(n, v)
  return out
}

/**
 * The upstream client's handler of one request, reused by each attempt in turn (attempts never
 * overlap: the next starts after the previous one's onComplete/onError).
 */
class ProxyHandler implements UpstreamHandler {
  /**
   * The client's body, buffered (read for replay, or whole on arrival); else its stream is sent.
   * A retry sends it again only within maxReplayBody (what was read for replay always is).
   */
  body: Buffer | undefined
  /** A hook's replacement body stream (undefined: the client's). */
  streamBody: import('node:stream').Readable | null | undefined
  /** The headers to send (before forwarding rules); default the client's raw headers. */
  rawHeaders: readonly string[] | undefined
  member!: GroupMember
  #abort: ((err: Error) => void) | undefined
  #finished = false
  #started = false
  #clientGone = false
  /** This attempt's response is being drained and dropped: a retry follows. */
  #discarding = false
  #attempts = 0
  #tried: GroupMember[] | undefined
  #next: GroupMember | undefined
  #sentAt = 0
  #timer: NodeJS.Timeout | undefined
  #tryTimer: NodeJS.Timeout | undefined
  /**
   * The sink's: chunks are let go of when the sink has let go of them (a chunk of an attempt
   * being discarded never reached the sink; the sink's answer covers it anyway).
   */
  readonly chunkHolder: ChunkHolder | undefined

  constructor(
    readonly ctx: RequestContext,
    readonly group: UpstreamGroup,
    readonly path: string,
    readonly method: string,
    readonly sink: ResponseSink,
    readonly extraHeaders: ReadonlyArray<readonly [string, string]> | undefined,
    readonly retry: ResolvedRetry | undefined,
    readonly log: RuntimeLog,
  ) {
    this.chunkHolder = sink.chunkHolder
    ctx.onClientAbort = () => {
      this.#clientGone = true
      this.#abort?.(codedError('SWITCHYARD_CLIENT_ABORT', 'client closed the connection'))
    }
    const total = group.config.timeouts.total
    if (total > 0) {
      this.#timer = setTimeout(() => this.#abort?.(codedError('SWITCHYARD_TOTAL_TIMEOUT', 'upstream total timeout')), total)
    }
  }

  /** Starts an attempt on `member`. */
  start(member: GroupMember): void {
    const ctx = this.ctx
    this.member = member
    this.#attempts++
    this.#finished = false
    this.#abort = undefined
    ctx.server = member.origin
    let headers = buildUpstreamHeaders(
      this.rawHeaders ?? ctx.req.rawHeaders, forwardedInfo(ctx),
      this.group.config.host, member.hostHeader, ctx.route!.requestHeaders,
    )
    if (this.extraHeaders) headers = setHeaders(headers, this.extraHeaders)
    const state = member.state
    state.inflight++
    state.requests++
    if (this.group.measuresLatency) this.#sentAt = performance.now()
    const perTry = this.retry?.perTryTimeout ?? 0
    if (perTry > 0) {
      this.#tryTimer = setTimeout(() => this.#abort?.(codedError('SWITCHYARD_TRY_TIMEOUT', 'upstream per-try timeout')), perTry)
    }
    const body = this.body ?? (this.streamBody !== undefined ? this.streamBody : ctx.hasBody ? ctx.bodyStream : null)
    try {
      member.pool.dispatch({ path: this.path, method: this.method, headers, body }, this)
    } catch (err) {
      this.onError(err as Error)
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort
    if (this.#clientGone) abort(codedError('SWITCHYARD_CLIENT_ABORT', 'client closed the connection'))
  }

  onHeaders(statusCode: number, rawHeaders: string[], resume: () => void): boolean {
    const member = this.member
    if (this.#tryTimer) clearTimeout(this.#tryTimer)
    if (this.group.measuresLatency) {
      const now = performance.now()
      member.state.recordLatency(now - this.#sentAt, now)
    }
    if (statusCode >= 400) { // failOn and retry `on` list statuses from 400 to 599
      reportFailingStatus(this.group, member, this.log, statusCode)
      if (this.retry?.statuses?.[statusCode] === 1 && this.#planRetry(statusCode)) {
        if (this.ctx.trace !== undefined) this.#traceAttempt(`status ${statusCode}`, `retryable status ${statusCode}`)
        this.#discarding = true
        return true
      }
    }
    if (this.ctx.trace !== undefined) this.#traceAttempt(`status ${statusCode}`, undefined)
    const headers = stripHopByHop(rawHeaders, statusCode) // may throw (invalid upstream framing): then nothing has started
    this.#started = true
    const cookie = stickyCookieFor(this.ctx, this.group, member)
    if (cookie !== undefined) headers.push('set-cookie', cookie)
    if (this.sink.head(statusCode, headers, resume)) return true
    this.#abort?.(codedError('SWITCHYARD_SINK_CLOSED', 'response no longer wanted'))
    return false
  }

  onInterim(statusCode: number, rawHeaders: string[]): void {
    if (this.sink.interim === undefined) return
    let headers: string[]
    try {
      headers = stripHopByHop(rawHeaders, statusCode)
    } catch {
      return // framing fields on an interim response mean nothing: it is dropped
    }
    this.sink.interim(statusCode, headers)
  }

  onData(chunk: Buffer): boolean {
    if (this.#discarding) return true
    return this.sink.data(chunk)
  }

  onComplete(): void {
    this.#finish()
    if (this.#discarding) return this.#retryNow()
    this.#finishRequest()
    this.sink.end()
  }

  onError(err: Error): void {
    const ctx = this.ctx
    const code = (err as { code?: string }).code
    this.#finish()
    if (this.#clientGone || code === 'SWITCHYARD_SINK_CLOSED') {
      this.#finishRequest()
      ctx.error ??= this.#clientGone ? 'client closed the connection' : undefined
      return
    }
    if (this.#discarding) return this.#retryNow() // the dropped response broke off: retry anyway
    const failure = classifyUpstreamError(err)
    this.member.state.failures++
    const kind = this.#started ? undefined : outcomeKind(err)
    if (kind !== undefined) reportPassiveFailure(this.group, this.member, this.log, failure.reason, kind)
    if (kind !== undefined && this.#planRetry(kind)) {
      if (ctx.trace !== undefined) this.#traceAttempt(`${kind}: ${failure.reason}`, kind)
      this.log.warn(`retrying: ${failure.reason} (${this.member.origin})`, { route: ctx.route?.name, upstream: this.member.origin })
      return this.#retryNow()
    }
    this.#finishRequest()
    if (ctx.trace !== undefined) this.#traceAttempt(`${kind ?? 'failed'}: ${failure.reason}`, undefined)
    this.sink.error(failure, this.#started)
    ctx.error ??= failure.reason
    this.log.error(`upstream request failed: ${ctx.error}`, {
      route: ctx.route?.name, upstream: this.member.origin, method: ctx.method, target: ctx.target,
    })
  }

  /** Whether to retry after `outcome`; when yes, the next server is chosen and kept. */
  #planRetry(outcome: AttemptOutcome): boolean {
    const retry = this.retry
    if (retry === undefined || this.#clientGone || this.#started) return false
    const bodyReplayable = this.streamBody === undefined
      ? !this.ctx.hasBody || (this.body !== undefined && this.body.length <= retry.maxReplayBody)
      : this.streamBody === null
    const tried = (this.#tried ??= [])
    const next = retryServer(this.ctx, this.group, retry, this.log, { outcome, attempts: this.#attempts, member: this.member, method: this.method, bodyReplayable }, tried)
    if (next === undefined) return false
    this.#next = next
    if (this.ctx.trace !== undefined) this.ctx.trace.push(retryPickEvent(this.group, next, tried))
    return true
  }

  /** Tracing only: this attempt's outcome (pushed before the retry's pick event). */
  #traceAttempt(outcome: string, retry: string | undefined): void {
    const trace = this.ctx.trace!
    const event = { type: 'attempt' as const, attempt: this.#attempts, server: this.member.origin, outcome, retry }
    // #planRetry already pushed the next pick: keep the attempt before it.
    if (retry !== undefined && trace.at(-1)?.type === 'balancer') trace.splice(trace.length - 1, 0, event)
    else trace.push(event)
  }

  #retryNow(): void {
    const next = this.#next!
    this.#next = undefined
    this.#discarding = false
    const delay = retryDelay(this.retry!, this.#attempts)
    if (delay <= 0) return this.start(next)
    setTimeout(() => (this.#clientGone ? this.#finishRequest() : this.start(next)), delay)
  }


  /** The attempt is over: its in-flight count and per-try timer. */
  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.member.state.inflight--
    if (this.#tryTimer) clearTimeout(this.#tryTimer)
    if (this.group.limited) this.group.release()
  }

  /** The request ends before any attempt (the client left while its body was read). */
  cancel(): void {
    this.#finishRequest()
  }

  /** The whole request is over (no more attempts). */
  #finishRequest(): void {
    if (this.#timer) clearTimeout(this.#timer)
  }
}

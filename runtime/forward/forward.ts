/**
 * The forward path: pick a server, send the request through its undici Pool with the
 * raw dispatch API, and hand the response to a ResponseSink (by default streamed straight
 * into the client's ServerResponse). No Web Request/Response is built here; one handler
 * object per request carries state.
 */
import type { Dispatcher } from 'undici'
import type { RequestContext } from '../context.js'
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { RuntimeLog } from '../log.js'
import { buildUpstreamHeaders } from './upstream-headers.js'
import { stripHopByHop } from './response-headers.js'
import { classifyUpstreamError, codedError } from './upstream-error.js'
import { ClientSink, type ResponseSink } from './response-sink.js'
import { sendError } from '../respond.js'

export interface ForwardOptions {
  /** Where the response goes. Default: streamed to the client. */
  sink?: ResponseSink
  /** Request headers to set upstream, replacing any of the same name (e.g. cache validators). */
  setHeaders?: ReadonlyArray<readonly [string, string]>
  /** Method to send instead of the client's (e.g. GET for a HEAD the cache fills). */
  method?: string
}

export function forwardRequest(ctx: RequestContext, group: UpstreamGroup, path: string, log: RuntimeLog, options?: ForwardOptions): void {
  const member = group.pick(ctx)
  if (member === undefined) {
    log.warn(`no server available in upstream '${group.name}'`, { route: ctx.route?.name })
    return sendError(ctx, 503, `no server available in upstream '${group.name}'`, ['retry-after', '1'])
  }
  ctx.server = member.origin
  const route = ctx.route!
  const fwd = ctx.generation.config.forwardedHeaders
  let headers = buildUpstreamHeaders(
    ctx.req.rawHeaders,
    { clientIp: ctx.clientIp, proto: 'http', host: ctx.hostHeader, xForwarded: fwd.xForwarded, forwarded: fwd.forwarded },
    group.config.host, member.hostHeader, route.requestHeaders,
  )
  if (options?.setHeaders) headers = setHeaders(headers, options.setHeaders)
  const sink = options?.sink ?? new ClientSink(ctx, route.responseHeaders)
  const handler = new ProxyHandler(ctx, member, sink, group.config.timeouts.total, log)
  try {
    member.pool.dispatch({ path, method: options?.method ?? ctx.method, headers, body: ctx.hasBody ? ctx.req : null }, handler)
  } catch (err) {
    handler.onError(err as Error)
  }
}

function setHeaders(list: string[], set: ReadonlyArray<readonly [string, string]>): string[] {
  const names = new Set(set.map(([n]) => n.toLowerCase()))
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) if (!names.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!)
  for (const [n, v] of set) out.push(n, v)
  return out
}

class ProxyHandler implements Dispatcher.DispatchHandler {
  #abort: ((err: Error) => void) | undefined
  #finished = false
  #started = false
  #clientGone = false
  #timer: NodeJS.Timeout | undefined

  constructor(
    readonly ctx: RequestContext,
    readonly member: GroupMember,
    readonly sink: ResponseSink,
    totalTimeout: number,
    readonly log: RuntimeLog,
  ) {
    member.state.inflight++
    member.state.requests++
    ctx.onClientAbort = () => {
      this.#clientGone = true
      this.#abort?.(codedError('SWITCHYARD_CLIENT_ABORT', 'client closed the connection'))
    }
    if (totalTimeout > 0) {
      this.#timer = setTimeout(() => this.#abort?.(codedError('SWITCHYARD_TOTAL_TIMEOUT', 'upstream total timeout')), totalTimeout)
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort
    if (this.#clientGone) abort(codedError('SWITCHYARD_CLIENT_ABORT', 'client closed the connection'))
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true // 1xx: the client's own 100-continue was answered by the proxy
    this.#started = true
    if (this.sink.head(statusCode, stripHopByHop(rawHeaders), resume)) return true
    this.#abort?.(codedError('SWITCHYARD_SINK_CLOSED', 'response no longer wanted'))
    return false
  }

  onData(chunk: Buffer): boolean {
    return this.sink.data(chunk)
  }

  onComplete(): void {
    this.#finish()
    this.sink.end()
  }

  onError(err: Error): void {
    this.#finish()
    const ctx = this.ctx
    const code = (err as { code?: string }).code
    if (this.#clientGone || code === 'SWITCHYARD_SINK_CLOSED') {
      ctx.error ??= this.#clientGone ? 'client closed the connection' : undefined
      return
    }
    const failure = classifyUpstreamError(err)
    this.member.state.failures++
    this.sink.error(failure, this.#started)
    ctx.error ??= failure.reason
    this.log.error(`upstream request failed: ${ctx.error}`, {
      route: ctx.route?.name, upstream: this.member.origin, method: ctx.method, target: ctx.target,
    })
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.member.state.inflight--
    if (this.#timer) clearTimeout(this.#timer)
  }
}

/**
 * The forward path: pick a server, send the request through its undici Pool with the
 * raw dispatch API, and stream the response straight into the client's ServerResponse.
 * No Web Request/Response is built here; one handler object per request carries state.
 */
import type { Dispatcher } from 'undici'
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { RuntimeLog } from '../log.js'
import { buildUpstreamHeaders } from './upstream-headers.js'
import { buildClientHeaders } from './response-headers.js'
import { classifyUpstreamError, codedError } from './upstream-error.js'
import { sendError } from '../respond.js'

export function forwardRequest(ctx: RequestContext, group: UpstreamGroup, path: string, log: RuntimeLog): void {
  const member = group.pick(ctx)
  if (member === undefined) {
    log.warn(`no server available in upstream '${group.name}'`, { route: ctx.route?.name })
    return sendError(ctx, 503, `no server available in upstream '${group.name}'`, ['retry-after', '1'])
  }
  ctx.server = member.origin
  const route = ctx.route!
  const fwd = ctx.generation.config.forwardedHeaders
  const headers = buildUpstreamHeaders(
    ctx.req.rawHeaders,
    { clientIp: ctx.clientIp, proto: 'http', host: ctx.hostHeader, xForwarded: fwd.xForwarded, forwarded: fwd.forwarded },
    group.config.host, member.hostHeader, route.requestHeaders,
  )
  const handler = new ProxyHandler(ctx, member, route.responseHeaders, group.config.timeouts.total, log)
  try {
    member.pool.dispatch({ path, method: ctx.method, headers, body: ctx.hasBody ? ctx.req : null }, handler)
  } catch (err) {
    handler.onError(err as Error)
  }
}

class ProxyHandler implements Dispatcher.DispatchHandler {
  #abort: ((err: Error) => void) | undefined
  #finished = false
  #clientGone = false
  #timer: NodeJS.Timeout | undefined

  constructor(
    readonly ctx: RequestContext,
    readonly member: GroupMember,
    readonly rules: ResolvedHeaderRules | undefined,
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
    const res = this.ctx.res
    if (res.destroyed) return false
    this.ctx.status = statusCode
    try {
      res.writeHead(statusCode, buildClientHeaders(rawHeaders, this.rules))
    } catch (err) {
      this.#abort?.(codedError('SWITCHYARD_BAD_RESPONSE_HEAD', `invalid upstream response header: ${(err as Error).message}`))
      return false
    }
    res.on('drain', resume)
    return true
  }

  onData(chunk: Buffer): boolean {
    this.ctx.bytes += chunk.length
    return this.ctx.res.write(chunk)
  }

  onComplete(): void {
    this.#finish()
    this.ctx.res.end()
  }

  onError(err: Error): void {
    this.#finish()
    const ctx = this.ctx
    if (this.#clientGone) {
      ctx.error = 'client closed the connection'
      return
    }
    const failure = (err as { code?: string }).code === 'SWITCHYARD_BAD_RESPONSE_HEAD'
      ? { status: 502 as const, reason: err.message }
      : classifyUpstreamError(err)
    this.member.state.failures++
    if (ctx.res.headersSent) {
      // Never a clean-looking truncated response: abort the client connection.
      ctx.error = `${failure.reason} (after response started)`
      ctx.res.destroy()
    } else {
      if (ctx.req.errored || ctx.req.destroyed) return void (ctx.error = 'client request aborted')
      sendError(ctx, failure.status, failure.reason)
    }
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

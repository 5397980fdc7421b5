/**
 * Serves a request whose route has hooks (routes without hooks never come here). Phases,
 * in order, with their contracts in src/config/hooks.ts:
 *
 *   onRequest ─▶ [answer early] ─────────────────────────────┐
 *      │                                                     ▼
 *   selectUpstream ─▶ onUpstreamRequest ─▶ upstream ─▶ onUpstreamResponse ─▶ onResponse ─▶ client
 *      │ (redirect / respond / handle routes skip the upstream phases)     ▲
 *   error (upstream, handler, hook) ─▶ onError ─▶ [answer] ──────────────────┘ or default 5xx
 *   onLog runs once when the request is over.
 *
 * A route with `cache`: after selectUpstream the cache layer takes over. It runs the upstream
 * phases on each exchange it has with the upstream (CacheHooks below: miss, revalidation,
 * background refresh — never a hit), and answers into a ResponseCapture when onResponse or
 * onError hooks must see its answer (hit or not) before the client does.
 */
import type { RequestContext } from '../context.js'
import type { RouteHooks } from './route-hooks.js'
import type { RuntimeLog } from '../log.js'
import type { UpstreamGroup } from '../upstream/upstream-group.js'
import type { ProxyError, UpstreamRequestInfo, UpstreamResponseInfo } from '../../src/config/hooks.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { RequestHookContext } from './hook-context.js'
import { chooseUpstream } from './choose-upstream.js'
import { runOnRequest, runOnUpstreamRequest, runOnUpstreamResponse, runOnResponse, runOnError, HookError } from './run-hooks.js'
import { WebResponseSink, toWebHeaders, type WebResponseReceiver } from './web-response-sink.js'
import { forwardRequest, type ForwardOptions } from '../forward/forward.js'
import { applyHeaderRules } from '../forward/response-headers.js'
import { sendInterim } from '../forward/interim.js'
import { ClientSink, type ResponseSink } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import { failedWebResponse, sendWebResponse, type ResponseLike } from '../handle/send-web-response.js'
import { callHandler, handlerFailure } from '../handle/run-handler.js'
import { upstreamTarget, redirectLocation } from '../router/rewrite.js'
import { sendError } from '../respond.js'
import { mapStack } from '../stack-map.js'
import { Readable } from 'node:stream'
import type { ServerResponse } from 'node:http'
import type { CacheUpstreamHooks, CacheUpstreamRequest, CacheUpstreamResponse } from '../cache/upstream-hooks.js'
import { derivedContext } from '../cache/detached-context.js'
import { HeldBody } from '../cache/held-body.js'
import { withoutFields } from '../cache/headers.js'
import { ResponseCapture, type CaptureReceiver } from './response-capture.js'
import { isProxyResponse, sendDirect, flatWebHeaders } from './proxy-response.js'
import { headersToRaw } from '../handle/web-request.js'

/** What the pipeline needs from the Runtime. */
export interface PipelineEnv {
  log: RuntimeLog
  /**
   * Serves a forward route that has `cache` (the cache layer forwards on a miss itself), with
   * the route's upstream phases when it has any (`hooks`).
   */
  cached(ctx: RequestContext, group: UpstreamGroup, target: string, hooks?: CacheUpstreamHooks): void
}

export async function serveWithHooks(ctx: RequestContext, hooks: RouteHooks, env: PipelineEnv): Promise<void> {
  const log = env.log
  const hctx = new RequestHookContext(ctx)
  ctx.hooks = hctx
  ctx.routeHooks = hooks
  let deadlineTimer: NodeJS.Timeout | undefined
  ctx.onDeadline = (at) => {
    // (the first deadline ties the timer to the response: most requests never set one)
    if (deadlineTimer === undefined) ctx.res.once('close', () => clearTimeout(deadlineTimer))
    else clearTimeout(deadlineTimer)
    deadlineTimer = setTimeout(() => {
      if (ctx.res.writableFinished) return
      ctx.onClientAbort?.() // stops the upstream exchange, if any
      if (!ctx.res.headersSent) sendError(ctx, 504, 'request deadline exceeded')
      else {
        ctx.error = 'request deadline exceeded (after response started)'
        ctx.res.destroy()
      }
    }, Math.max(0, at - performance.now()))
    deadlineTimer.unref?.()
  }
  try {
    const early = await runOnRequest(hooks, hctx, log)
    if (ctx.res.headersSent || ctx.res.destroyed) return // a deadline fired meanwhile
    if (early) return await respond(ctx, hooks, hctx, early, log)
    const action = ctx.route!.action
    switch (action.type) {
      case 'forward':
        return await forwardWithHooks(ctx, hooks, hctx, action, env)
      case 'redirect': {
        const location = redirectLocation(action, ctx.params, ctx.query)
        const headers = new Headers({ location, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        return await respond(ctx, hooks, hctx, withRouteRules(new Response(`Redirecting to ${location}\n`, { status: action.status, headers }), ctx.route!.responseHeaders), log)
      }
      case 'respond': {
        const headers = new Headers(action.headers)
        const body = action.status === 204 || action.status === 304 ? null : action.body
        return await respond(ctx, hooks, hctx, withRouteRules(new Response(body, { status: action.status, headers }), ctx.route!.responseHeaders), log)
      }
      case 'handle': {
        let response: ResponseLike
        try {
          response = await callHandler(ctx, action.handler, action.timeout, hctx.request)
        } catch (err) {
          return await failed(ctx, hooks, hctx, handlerFailure(ctx, err, log), log)
        }
        return await respond(ctx, hooks, hctx, withRouteRules(response as Response, ctx.route!.responseHeaders), log)
      }
    }
  } catch (err) {
    if (err instanceof HookError) return void (await failed(ctx, hooks, hctx, err, log).catch(() => sendError(ctx, 500, err.message)))
    log.error(`internal error: ${mapStack((err as Error)?.stack ?? String(err))}`, { route: ctx.route?.name })
    sendError(ctx, 500, `internal error: ${(err as Error)?.message}`)
  }
}

async function forwardWithHooks(
  ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext,
  action: Extract<NonNullable<RequestContext['route']>['action'], { type: 'forward' }>, env: PipelineEnv,
): Promise<void> {
  const log = env.log
  let groupName = action.upstream
  let server: string | undefined
  // Checked here, not only inside chooseUpstream: no await (microtask) on the common hook-less path.
  if (hooks.selectUpstream.length > 0) ({ group: groupName, server } = await chooseUpstream(hooks, hctx, action.upstream, log))
  const group = ctx.generation.groups.get(groupName)!
  ctx.upstreamGroup = group.name
  let target = upstreamTarget(ctx.path, ctx.params, ctx.query, action.rewrite)
  // A caching route: the cache layer answers hits and forwards misses itself.
  if (ctx.route!.cache !== undefined) return cachedWithHooks(ctx, hooks, hctx, group, target, server, env)
  let method = ctx.method
  let rawHeaders: string[] | undefined
  let body: Readable | null | undefined
  if (hooks.onUpstreamRequest.length > 0) {
    const info: UpstreamRequestInfo = { method, path: target, headers: hctx.headers }
    body = await upstreamRequestHooks(hooks, hctx, info, log)
    method = info.method
    target = info.path
  }
  if (hctx.headersTouched) rawHeaders = headersToRaw(hctx.headers)
  if (body === undefined) body = hooksRequestBody(ctx, hctx)
  const needsWeb = hooks.onResponse.length > 0 || hooks.onUpstreamResponse.length > 0 || hooks.onError.length > 0
  const sink = needsWeb ? new HookedUpstreamSink(ctx, hooks, hctx, log) : undefined
  hctx.timings.upstreamStart = performance.now()
  forwardRequest(ctx, group, target, log, new HookedForward(sink, method !== ctx.method ? method : undefined, rawHeaders, body, server))
}

/**
 * Runs onUpstreamRequest on `info` (the hooks change its method, path and headers in place) and
 * resolves with the body to send instead of the client's: the one a hook set (null: none), or
 * undefined when no hook set one.
 */
async function upstreamRequestHooks(
  hooks: RouteHooks, hctx: RequestHookContext, info: UpstreamRequestInfo, log: RuntimeLog,
): Promise<Readable | null | undefined> {
  await runOnUpstreamRequest(hooks, hctx, info, log)
  if (info.body === undefined) return undefined
  const body = info.body === null ? null : Readable.fromWeb(info.body as import('node:stream/web').ReadableStream<Uint8Array>)
  info.headers.delete('content-length') // a replacement body's length is unknown: chunked
  return body
}

/**
 * The client's body as the hooks' Web Request holds it, if they built one (null for a request
 * without a body); undefined when they did not: the client's request is read directly.
 */
function hooksRequestBody(ctx: RequestContext, hctx: RequestHookContext): Readable | null | undefined {
  const fromRequest = hctx.requestBody()
  if (fromRequest === undefined) return undefined
  return ctx.hasBody ? fromRequest : null
}

/**
 * forwardRequest's options for a hooked route. A class, not an object literal: V8 may decide to
 * allocate a literal's objects straight in the old generation (allocation-site pretenuring), and
 * a dead old object pointing at the request's sink keeps everything the request holds alive
 * through every young GC until the next full one — measured here as ~2.5 MB promoted per scavenge
 * and ~40 µs of CPU per request.
 */
class HookedForward implements ForwardOptions {
  constructor(
    readonly sink: ResponseSink | undefined, readonly method: string | undefined, readonly rawHeaders: string[] | undefined,
    readonly body: Readable | null | undefined, readonly server: string | undefined,
  ) {}
}

/**
 * A caching route with hooks. The upstream phases go to the cache layer as CacheHooks (only
 * when there is something to do upstream); the cache's answer goes through a ResponseCapture
 * to onResponse / onError when the route has such hooks, else straight to the client (a hit
 * then costs what it costs on a route without hooks, plus onRequest).
 */
function cachedWithHooks(
  ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext, group: UpstreamGroup, target: string,
  server: string | undefined, env: PipelineEnv,
): void {
  const log = env.log
  const upstream = hooks.onUpstreamRequest.length > 0 || hooks.onUpstreamResponse.length > 0 || hctx.headersTouched ||
    server !== undefined || ctx.hasBody
    ? new CacheHooks(ctx, hooks, hctx, server, log)
    : undefined
  if (hooks.onResponse.length === 0 && hooks.onError.length === 0) return env.cached(ctx, group, target, upstream)
  const answer = new CachedAnswer(ctx, hooks, hctx, log)
  const cacheCtx = (answer.cacheCtx = derivedContext(ctx, new ResponseCapture(ctx.res, ctx.method, answer) as unknown as ServerResponse))
  ctx.onClientAbort = () => cacheCtx.onClientAbort?.()
  env.cached(cacheCtx, group, target, upstream)
}

/** The cache layer's answer on a route with onResponse / onError hooks: to them, then the client. */
class CachedAnswer implements CaptureReceiver {
  /** The cache layer's own context (answering into the capture). */
  cacheCtx!: RequestContext

  constructor(readonly ctx: RequestContext, readonly hooks: RouteHooks, readonly hctx: RequestHookContext, readonly log: RuntimeLog) {}

  response(response: Response): void {
    this.#report()
    // (A throw that escapes respond must answer the client, never end the process.)
    respond(this.ctx, this.hooks, this.hctx, response, this.log).catch((err: unknown) => failedWebResponse(this.ctx, err, 'response failed', 500))
  }

  error(status: number, reason: string, extra: readonly string[] | undefined): void {
    this.#report()
    void failed(this.ctx, this.hooks, this.hctx, { status, reason, cause: undefined }, this.log, extra)
  }

  /** What the access log and ctx.upstream show: the cache layer's outcome on its own context. */
  #report(): void {
    this.ctx.server = this.cacheCtx.server
    this.ctx.error = this.cacheCtx.error
  }
}

/**
 * The upstream phases for the cache layer's exchanges (runtime/cache/upstream-hooks.ts). Each
 * exchange gets its own copy of the hooks' request headers; what onUpstreamResponse leaves is
 * what the cache stores (or, with `cacheable = false`, passes on without storing). A hook that
 * throws answers the client through onError / 500 here — unless the exchange is a background
 * refresh, which has no client: then it is logged and the refresh given up.
 */
class CacheHooks implements CacheUpstreamHooks {
  constructor(
    readonly ctx: RequestContext, readonly hooks: RouteHooks, readonly hctx: RequestHookContext,
    readonly server: string | undefined, readonly log: RuntimeLog,
  ) {}

  async request(out: CacheUpstreamRequest, background: boolean): Promise<CacheUpstreamRequest> {
    try {
      const next: CacheUpstreamRequest = { ...out, ...(this.server !== undefined ? { server: this.server } : {}) }
      const drop = out.dropHeaders
      if (this.hooks.onUpstreamRequest.length > 0) {
        const headers = new Headers(this.hctx.headers)
        if (drop !== undefined) for (const name of drop) headers.delete(name)
        for (const [name, value] of out.setHeaders) headers.set(name, value)
        const info: UpstreamRequestInfo = { method: out.method, path: out.path, headers }
        const body = await upstreamRequestHooks(this.hooks, this.hctx, info, this.log)
        next.method = info.method
        next.path = info.path
        next.setHeaders = [] // in `headers` now, where the hooks could see (or drop) them
        if (body !== undefined) next.body = body
        next.rawHeaders = headersToRaw(info.headers)
      } else if (this.hctx.headersTouched) {
        next.rawHeaders = headersToRaw(this.hctx.headers)
        if (drop !== undefined) next.rawHeaders = withoutFields(next.rawHeaders, drop)
      } else if (drop !== undefined) {
        next.rawHeaders = withoutFields(this.ctx.req.rawHeaders, drop)
      }
      if (next.body === undefined && !background) {
        const body = hooksRequestBody(this.ctx, this.hctx)
        if (body !== undefined) next.body = body
      }
      if (!background) this.hctx.timings.upstreamStart = performance.now()
      return next
    } catch (err) {
      throw this.#failed(err, background)
    }
  }

  async response(status: number, headers: string[], background: boolean): Promise<CacheUpstreamResponse> {
    if (!background) this.hctx.timings.upstreamHeaders = performance.now()
    if (this.hooks.onUpstreamResponse.length === 0) return { status, headers, cacheable: true }
    const info: UpstreamResponseInfo = { status, headers: toWebHeaders(headers), cacheable: true }
    try {
      await runOnUpstreamResponse(this.hooks, this.hctx, info, this.log)
    } catch (err) {
      throw this.#failed(err, background)
    }
    // Hop-by-hop fields a hook set (Connection, Transfer-Encoding, …) are dropped, as on routes without cache.
    return { status: info.status, headers: flatWebHeaders(info.headers), cacheable: info.cacheable !== false }
  }

  /** A hook (or the hooks' request) failed: the client gets onError's answer or a 500. */
  #failed(err: unknown, background: boolean): unknown {
    if (background) {
      if (!(err instanceof HookError)) this.log.error(`background refresh: ${(err as Error)?.message ?? String(err)}`, { route: this.ctx.route?.name })
      return err
    }
    if (err instanceof HookError) void failed(this.ctx, this.hooks, this.hctx, err, this.log).catch(() => sendError(this.ctx, 500, err.message))
    else {
      this.log.error(`internal error: ${mapStack((err as Error)?.stack ?? String(err))}`, { route: this.ctx.route?.name })
      sendError(this.ctx, 500, `internal error: ${(err as Error)?.message}`)
    }
    return err
  }
}

/**
 * Receives the upstream response for a hooked route: runs onUpstreamResponse on its head, then
 * hands a Web Response (body streaming) to onResponse — or, with no onResponse hooks, streams it
 * straight to the client; failures before the head go to onError.
 * While the async hooks run, the upstream body is held back (paused), not buffered whole.
 */
class HookedUpstreamSink implements ResponseSink, WebResponseReceiver {
  /** Where the (hooked) head and the body go. */
  #out: ResponseSink
  /** The body, held while onUpstreamResponse hooks run. */
  readonly #body: HeldBody
  /** The exchange failed while onUpstreamResponse hooks ran: onError answers, the head is dropped. */
  #failed = false

  constructor(readonly ctx: RequestContext, readonly hooks: RouteHooks, readonly hctx: RequestHookContext, readonly log: RuntimeLog) {
    // (the route's response header rules are applied here, before onUpstreamResponse)
    this.#out = hooks.onResponse.length > 0 ? new WebResponseSink(this, ctx.method) : new ClientSink(ctx, undefined)
    this.#body = new HeldBody(this.#out)
  }

  response(response: Response): void {
    // (A throw that escapes respond must answer the client, never end the process.)
    respond(this.ctx, this.hooks, this.hctx, response, this.log).catch((err: unknown) => failedWebResponse(this.ctx, err, 'response failed', 500))
  }

  failed(failure: UpstreamFailure): void {
    void failed(this.ctx, this.hooks, this.hctx, upstreamError(failure), this.log)
  }

  /** Interim responses go straight to the client: hooks see the final response only. */
  interim(status: number, headers: string[]): void {
    sendInterim(this.ctx, status, headers)
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    this.hctx.timings.upstreamHeaders = performance.now()
    const rules = this.ctx.route!.responseHeaders
    const list = rules ? applyHeaderRules(headers, rules) : headers
    if (this.hooks.onUpstreamResponse.length === 0) {
      this.#body.open()
      return this.#out.head(status, list, resume)
    }
    const info: UpstreamResponseInfo = { status, headers: toWebHeaders(list), cacheable: true }
    runOnUpstreamResponse(this.hooks, this.hctx, info, this.log).then(() => {
      if (this.#failed) return
      this.#body.open()
      if (!this.#out.head(info.status, flatWebHeaders(info.headers), resume)) return void this.ctx.onClientAbort?.()
      this.#body.replay(resume)
    }, (err: unknown) => {
      this.ctx.onClientAbort?.()
      void failed(this.ctx, this.hooks, this.hctx, err as HookError, this.log)
    })
    return true
  }

  data(chunk: Buffer): boolean {
    return this.#body.data(chunk)
  }

  end(): void {
    this.#body.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    // (A ClientSink holds the head until the first body byte: then nothing is sent yet either.)
    if (!started || !this.#body.ready || (this.#out instanceof ClientSink && !this.ctx.res.headersSent)) {
      this.#failed = true
      return this.failed(failure) // nothing sent yet: onError
    }
    this.#out.error(failure, true)
  }
}

function upstreamError(failure: UpstreamFailure): ProxyError {
  return { status: failure.status, reason: failure.reason, cause: undefined }
}

/**
 * onError hooks may answer; otherwise the default status for the error (with `extra` header
 * lines, e.g. the cache's Cache-Status; default: Retry-After on a 503).
 */
async function failed(
  ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext, error: ProxyError, log: RuntimeLog, extra?: readonly string[],
): Promise<void> {
  if (ctx.trace !== undefined) ctx.trace.push({ type: 'error', message: `${error.status} ${error.reason}` })
  if (ctx.res.headersSent || ctx.res.destroyed) {
    ctx.error ??= error.reason
    return void ctx.res.destroy()
  }
  const answer = hooks.onError.length > 0 ? await runOnError(hooks, hctx, error, log) : undefined
  if (answer) {
    ctx.error = error.reason
    return respond(ctx, hooks, hctx, answer, log)
  }
  sendError(ctx, error.status, error.reason, extra !== undefined ? [...extra] : error.status === 503 ? ['retry-after', '1'] : undefined)
}

/**
 * onResponse hooks, then the client. A hook failing here answers 500 (no second onResponse round).
 * When the response the hooks settle on still carries the proxy's own body unread (a
 * ProxyResponse: forwarded or cached — hooks that only look at or change the head), the body goes
 * to the client without Web streams; anything else is streamed from the final Response.
 */
async function respond(ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext, response: Response, log: RuntimeLog): Promise<void> {
  const own = isProxyResponse(response) ? response : undefined
  let final: Response
  try {
    final = hooks.onResponse.length > 0 ? await runOnResponse(hooks, hctx, response, log) : response
  } catch (err) {
    if (own !== undefined) own.release()
    else await response.body?.cancel().catch(() => {})
    return sendError(ctx, 500, (err as Error).message)
  }
  if (ctx.res.headersSent || ctx.res.destroyed) {
    own?.release()
    if (final !== own) await final.body?.cancel().catch(() => {})
    return
  }
  const source = own?.reclaim(final)
  if (source !== undefined) return sendDirect(ctx, final, source)
  // A hook replaced the body without reading the original: let go of it (the exchange behind it,
  // e.g. a cache storing what it tees, then runs to its end instead of waiting for a reader).
  if (own !== undefined) own.release(final)
  else if (response.body !== null && response.body !== final.body && !response.body.locked) void response.body.cancel().catch(() => {})
  try {
    await sendWebResponse(ctx, final, undefined)
  } catch (err) {
    failedWebResponse(ctx, err, 'response body failed', 502)
  }
}

/** The route's response header rules, on a copy (a handler's Response may have immutable headers). */
function withRouteRules(response: Response, rules: ResolvedHeaderRules | undefined): Response {
  if (!rules) return response
  const headers = new Headers(response.headers)
  for (const name of rules.remove) headers.delete(name)
  for (const [n, v] of rules.append) headers.append(n, v)
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
}

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
 */
import type { RequestContext } from '../context.js'
import type { RouteHooks } from './route-hooks.js'
import type { RuntimeLog } from '../log.js'
import type { UpstreamGroup } from '../upstream/upstream-group.js'
import type { ProxyError, UpstreamRequestInfo, UpstreamResponseInfo } from '../../src/config/hooks.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { RequestHookContext } from './hook-context.js'
import { runOnRequest, runSelectUpstream, runOnUpstreamRequest, runOnUpstreamResponse, runOnResponse, runOnError, HookError } from './run-hooks.js'
import { WebResponseSink } from './web-response-sink.js'
import { forwardRequest } from '../forward/forward.js'
import { applyHeaderRules } from '../forward/response-headers.js'
import type { ResponseSink } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import { sendWebResponse, type ResponseLike } from '../handle/send-web-response.js'
import { callHandler, handlerFailure } from '../handle/run-handler.js'
import { rewritePath, redirectLocation } from '../router/rewrite.js'
import { sendError } from '../respond.js'
import { mapStack } from '../stack-map.js'
import { Readable } from 'node:stream'

/** What the pipeline needs from the Runtime. */
export interface PipelineEnv {
  log: RuntimeLog
  /** Serves a forward route that has `cache` (the cache layer forwards on a miss itself). */
  cached(ctx: RequestContext, group: UpstreamGroup, target: string): void
}

export async function serveWithHooks(ctx: RequestContext, hooks: RouteHooks, env: PipelineEnv): Promise<void> {
  const log = env.log
  const hctx = new RequestHookContext(ctx)
  ctx.hooks = hctx
  ctx.routeHooks = hooks
  let deadlineTimer: NodeJS.Timeout | undefined
  ctx.onDeadline = (at) => {
    clearTimeout(deadlineTimer)
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
  ctx.res.once('close', () => clearTimeout(deadlineTimer))
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
  if (hooks.selectUpstream.length > 0) {
    const choice = await runSelectUpstream(hooks, hctx, log)
    if (choice) {
      if (!ctx.generation.groups.has(choice.group)) {
        throw new HookError('selectUpstream', 'selectUpstream', new Error(`unknown upstream '${choice.group}' (known: ${[...ctx.generation.groups.keys()].join(', ')})`))
      }
      groupName = choice.group
      server = choice.server
    }
  }
  const group = ctx.generation.groups.get(groupName)!
  ctx.upstreamGroup = group.name
  const path = action.rewrite ? rewritePath(ctx.path, ctx.params, action.rewrite) : ctx.path
  let target = ctx.query === '' ? path : `${path}?${ctx.query}`
  // A caching route: the cache layer answers hits and forwards misses itself. The upstream and
  // response phases do not run on it yet (README: hooks and the cache).
  if (ctx.route!.cache !== undefined) return env.cached(ctx, group, target)
  let method = ctx.method
  let rawHeaders: string[] | undefined
  let body: Readable | null | undefined
  if (hooks.onUpstreamRequest.length > 0) {
    const info: UpstreamRequestInfo = { method, path: target, headers: hctx.headers }
    await runOnUpstreamRequest(hooks, hctx, info, log)
    method = info.method
    target = info.path
    if (info.body !== undefined) {
      body = info.body === null ? null : Readable.fromWeb(info.body as import('node:stream/web').ReadableStream<Uint8Array>)
      info.headers.delete('content-length') // a replacement body's length is unknown: chunked
    }
  }
  if (hctx.headersTouched) rawHeaders = flatten(hctx.headers)
  if (body === undefined) {
    const fromRequest = hctx.requestBody() // the hooks' Web Request, if they built one
    if (fromRequest !== undefined) body = ctx.hasBody ? fromRequest : null
  }
  const needsWeb = hooks.onResponse.length > 0 || hooks.onUpstreamResponse.length > 0 || hooks.onError.length > 0
  const sink = needsWeb ? new HookedUpstreamSink(ctx, hooks, hctx, log) : undefined
  hctx.timings.upstreamStart = performance.now()
  forwardRequest(ctx, group, target, log, {
    ...(sink ? { sink } : {}),
    ...(method !== ctx.method ? { method } : {}),
    ...(rawHeaders ? { rawHeaders } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(server !== undefined ? { server } : {}),
  })
}

/**
 * Receives the upstream response for a hooked route: runs onUpstreamResponse on its head,
 * then hands a Web Response (body streaming) to onResponse; failures go to onError.
 * While the async hooks run, the upstream body is held back (paused), not buffered whole.
 */
class HookedUpstreamSink implements ResponseSink {
  #web: WebResponseSink
  #ready = false
  #pending: Buffer[] = []
  #ended = false
  #resume: (() => void) | undefined

  constructor(readonly ctx: RequestContext, readonly hooks: RouteHooks, readonly hctx: RequestHookContext, readonly log: RuntimeLog) {
    this.#web = new WebResponseSink({
      response: (response) => void respond(ctx, hooks, hctx, response, log),
      failed: (failure) => void failed(ctx, hooks, hctx, upstreamError(failure), log),
    }, ctx.method)
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    this.hctx.timings.upstreamHeaders = performance.now()
    this.#resume = resume
    const rules = this.ctx.route!.responseHeaders
    const list = rules ? applyHeaderRules(headers, rules) : headers
    if (this.hooks.onUpstreamResponse.length === 0) {
      this.#ready = true
      return this.#web.head(status, list, resume)
    }
    const h = new Headers()
    for (let i = 0; i < list.length; i += 2) h.append(list[i]!, list[i + 1]!)
    const info: UpstreamResponseInfo = { status, headers: h, cacheable: true }
    runOnUpstreamResponse(this.hooks, this.hctx, info, this.log).then(() => {
      const flat: string[] = []
      for (const [n, v] of info.headers) if (n !== 'set-cookie') flat.push(n, v)
      for (const cookie of info.headers.getSetCookie()) flat.push('set-cookie', cookie)
      this.#ready = true
      this.#web.head(info.status, flat, resume)
      for (const chunk of this.#pending) this.#web.data(chunk)
      this.#pending = []
      if (this.#ended) this.#web.end()
      else this.#resume?.()
    }, (err: unknown) => {
      this.ctx.onClientAbort?.()
      void failed(this.ctx, this.hooks, this.hctx, err as HookError, this.log)
    })
    return true
  }

  data(chunk: Buffer): boolean {
    if (this.#ready) return this.#web.data(chunk)
    this.#pending.push(chunk)
    return false // hold the upstream until the head's hooks are done
  }

  end(): void {
    if (this.#ready) this.#web.end()
    else this.#ended = true
  }

  error(failure: UpstreamFailure, started: boolean): void {
    if (started && !this.#ready) return void failed(this.ctx, this.hooks, this.hctx, upstreamError(failure), this.log)
    this.#web.error(failure, started)
  }
}

function upstreamError(failure: UpstreamFailure): ProxyError {
  return { status: failure.status, reason: failure.reason, cause: undefined }
}

/** onError hooks may answer; otherwise the default status for the error. */
async function failed(ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext, error: ProxyError, log: RuntimeLog): Promise<void> {
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
  sendError(ctx, error.status, error.reason, error.status === 503 ? ['retry-after', '1'] : undefined)
}

/** onResponse hooks, then the client. A hook failing here answers 500 (no second onResponse round). */
async function respond(ctx: RequestContext, hooks: RouteHooks, hctx: RequestHookContext, response: Response, log: RuntimeLog): Promise<void> {
  let final: Response
  try {
    final = hooks.onResponse.length > 0 ? await runOnResponse(hooks, hctx, response, log) : response
  } catch (err) {
    await response.body?.cancel().catch(() => {})
    return sendError(ctx, 500, (err as Error).message)
  }
  if (ctx.res.headersSent || ctx.res.destroyed) return void (await final.body?.cancel().catch(() => {}))
  try {
    await sendWebResponse(ctx, final, undefined)
  } catch (err) {
    ctx.error ??= `response body failed: ${(err as Error)?.message}`
    ctx.res.destroy()
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

function flatten(headers: Headers): string[] {
  const out: string[] = []
  for (const [name, value] of headers) if (name !== 'set-cookie') out.push(name, value)
  return out
}

/**
 * The data plane: owns listeners, the current Generation and the long-lived registries.
 * `reload` builds a new Generation and swaps one reference; requests in flight finish on
 * the Generation they started with, and pools of retired servers close once no
 * Generation that uses them has requests left. A Generation retires (its middleware's
 * `close()` runs) once it is no longer current and its last request is over.
 */
import { ServerResponse, type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ResolvedConfig } from './resolved-config.js'
import { Generation } from './generation.js'
import { RequestContext, type FrontRequest, type FrontResponse } from './context.js'
import { ServerStateRegistry } from './upstream/server-state.js'
import { PoolRegistry } from './forward/pool-registry.js'
import { NodeListener, type FastListener } from './adapters/node/node-listener.js'
import { BadTargetError } from './canonical.js'
import { setRequestTarget } from './request-target.js'
import { forwardRequest } from './forward/forward.js'
import { upstreamTarget, redirectLocation } from './router/rewrite.js'
import { runHandler } from './handle/run-handler.js'
import { send, sendError, sendText } from './respond.js'
import { silentLog, type RuntimeLog, type AccessRecord } from './log.js'
import { serveWithHooks, type PipelineEnv } from './pipeline/hooked-route.js'
import { runOnLog } from './pipeline/run-hooks.js'
import { CacheLayer } from './cache/cache-layer.js'
import { AdminServer } from '../src/admin/admin-server.js'
import { routeEvent, type TraceEvent } from './trace.js'
import { serveUpgrade } from './upgrade/serve-upgrade.js'
import { guardBody } from './body-guard.js'
import type { Middleware } from '../src/config/hooks.js'
import type { FastExchangeRequest, FastResponse } from './adapters/node/fast-exchange.js'
import type { RouteMatchResult } from './router/router.js'

export interface RuntimeOptions {
  log?: RuntimeLog
  /** Clock for cache decisions (epoch ms); tests inject one. Default Date.now. */
  cacheNow?: () => number
  /**
   * Record a decision trace per request (runtime/trace.ts) and hand it to `onTrace` when the
   * request starts. Off by default: then each instrumentation point is one undefined-check.
   */
  trace?: boolean
  onTrace?: (req: FrontRequest, res: FrontResponse, trace: TraceEvent[]) => void
  /** How long close() waits for middleware close() calls (ms, default 5000); then it logs them and goes on. */
  middlewareCloseTimeout?: number
}

export class Runtime {
  readonly log: RuntimeLog
  readonly states = new ServerStateRegistry()
  readonly pools = new PoolRegistry()
  /** The shared HTTP cache: per-route policy and stores that outlive reloads. */
  readonly cache: CacheLayer
  readonly admin: AdminServer
  #generation: Generation | undefined
  #nextId = 1
  /** Generation → requests in flight on it. */
  readonly #inflight = new Map<Generation, number>()
  readonly #listeners = new Map<string, NodeListener>()
  #closing = false
  /** Loads under way: close() waits for them, so that none opens a listener after it. */
  readonly #loads = new Set<Promise<Generation>>()
  /**
   * Middleware holding resources → how many live Generations list it. It is closed when the
   * last of them retires; a later config listing the same object again counts it anew (and it
   * is closed again when that one retires).
   */
  readonly #middlewareRefs = new Map<Middleware, number>()
  /** close() calls still running (awaited by close(), up to `#middlewareCloseTimeout`) → the middleware's name. */
  readonly #closingMiddleware = new Map<Promise<void>, string>()
  readonly #middlewareCloseTimeout: number
  /** An access logger or onLog failure was reported (once: a broken logger would repeat it on every request). */
  #logFailureReported = false
  readonly #onTrace: ((req: FrontRequest, res: FrontResponse, trace: TraceEvent[]) => void) | undefined
  readonly #pipeline: PipelineEnv = {
    log: silentLog,
    cached: (ctx, group, target, hooks) => this.cache.handle(ctx, group, target, hooks),
  }

  constructor(options: RuntimeOptions = {}) {
    this.log = options.log ?? silentLog
    this.#onTrace = options.trace ? (options.onTrace ?? (() => {})) : undefined
    this.#middlewareCloseTimeout = options.middlewareCloseTimeout ?? 5000
    this.#pipeline.log = this.log
    // Active health checks log their transitions through the runtime's log.
    this.pools.health.log = this.log
    this.cache = new CacheLayer({ log: this.log, ...(options.cacheNow ? { now: options.cacheNow } : {}) })
    this.admin = new AdminServer({ stores: () => this.cache.stores.entries() }, this.log)
  }

  get generation(): Generation {
    if (!this.#generation) throw new Error('runtime has no config yet')
    return this.#generation
  }

  /**
   * Builds and swaps in a Generation for `config`, then brings listeners in line with it.
   * Refused once close() has begun: a reload finishing late must not listen again.
   */
  async load(config: ResolvedConfig): Promise<Generation> {
    if (this.#closing) throw new Error('the runtime is closed: the config was not loaded')
    const loading = this.#load(config)
    this.#loads.add(loading)
    try {
      return await loading
    } finally {
      this.#loads.delete(loading)
    }
  }

  async #load(config: ResolvedConfig): Promise<Generation> {
    this.cache.configure(config)
    const next = new Generation(this.#nextId++, config, this.states, this.pools, this.log)
    const previous = this.#generation
    this.#generation = next
    this.#inflight.set(next, 0)
    for (const m of next.closers) this.#middlewareRefs.set(m, (this.#middlewareRefs.get(m) ?? 0) + 1)
    if (previous && (this.#inflight.get(previous) ?? 0) === 0) this.#retire(previous)
    await this.#syncListeners(config)
    await this.admin.sync(config.admin)
    void this.#collect()
    return next
  }

  addresses(): AddressInfo[] {
    return [...this.#listeners.values()].map((l) => l.server.address() as AddressInfo)
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const ctx = this.#begin(new RequestContext(req, res, this.#generation!))
    if (ctx.hasBody) guardBody(ctx)
    try {
      this.#route(ctx)
    } catch (err) {
      this.#failed(ctx, err)
    }
  }

  /** How the listeners' fast fronts reach this runtime. */
  readonly #fast: FastListener = {
    enabled: () => this.#generation?.config.server.fastFront !== false,
    serve: (req, res) => this.handleFast(req, res),
  }

  /**
   * A request the listener's fast front parsed (HTTP/1.x, no body or a Content-Length one: adapters/node/fast-front.ts).
   * Returns false, having done nothing, for a target node:http's path answers with 400 (it
   * then parses and refuses the request itself); else serves it and returns true.
   */
  readonly handleFast = (req: FastExchangeRequest, res: FastResponse): boolean => {
    const gen = this.#generation
    if (gen === undefined || gen.config.server.fastFront === false) return false
    const ctx = new RequestContext(req, res, gen)
    try {
      setRequestTarget(ctx)
    } catch {
      return false // node:http's path answers 400
    }
    const match = gen.router.match(ctx)
    this.#begin(ctx)
    // A body that came whole with its head needs no guard: no clock to run, no rest to refuse or
    // discard (a limit set later by a hook makes one then: limitBody).
    if (ctx.hasBody && !ctx.req.complete) guardBody(ctx)
    try {
      if (match === undefined) this.#noRoute(ctx)
      else this.#serve(ctx, match)
    } catch (err) {
      this.#failed(ctx, err)
    }
    return true
  }

  /** Counts the request in flight on its Generation until its response closes. */
  #begin(ctx: RequestContext): RequestContext {
    const gen = ctx.generation
    this.#inflight.set(gen, (this.#inflight.get(gen) ?? 0) + 1)
    ctx.res.once('close', () => this.#finish(ctx))
    if (this.#closing) ctx.res.setHeader('connection', 'close')
    if (this.#onTrace !== undefined) this.#onTrace(ctx.req, ctx.res, (ctx.trace = []))
    return ctx
  }

  /** A throw from routing or a user function called synchronously (a `balance` or hash `key`): anything may be thrown. */
  #failed(ctx: RequestContext, err: unknown): void {
    this.#logInternal(err, ctx.req.url)
    sendError(ctx, 500, `internal error: ${(err as Error | null)?.message ?? String(err)}`)
  }

  #logInternal(err: unknown, target: string | undefined): void {
    this.log.error(`internal error: ${(err as Error | null)?.stack ?? String(err)}`, { target })
  }

  /**
   * An HTTP/1.1 `Upgrade` request the listener let through: tunnelled when its route forwards
   * (upgrade/serve-upgrade.ts), else handed back (`asPlain`) and served as a plain request.
   * An open tunnel counts as a request in flight on its Generation; its access record (status
   * 101, `bytes` sent to the client, `bytesIn` received from it) is written when it closes.
   */
  readonly handleUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer, asPlain: () => void): void => {
    const gen = this.#generation
    if (gen === undefined || this.#closing) return asPlain()
    const ctx = new RequestContext(req, new ServerResponse(req), gen)
    this.#inflight.set(gen, (this.#inflight.get(gen) ?? 0) + 1)
    let served = false
    try {
      served = serveUpgrade(ctx, socket, head, this.log, (bytesIn) => this.#finish(ctx, bytesIn))
    } catch (err) {
      this.#logInternal(err, req.url)
    }
    if (served) return
    this.#inflight.set(gen, (this.#inflight.get(gen) ?? 1) - 1)
    asPlain()
  }

  #route(ctx: RequestContext): void {
    try {
      setRequestTarget(ctx)
    } catch (err) {
      if (err instanceof BadTargetError) return sendError(ctx, 400, err.message)
      throw err
    }
    if (ctx.method === 'CONNECT') return sendError(ctx, 405, 'CONNECT is not supported', ['allow', 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS'])
    const match = ctx.generation.router.match(ctx)
    if (match === undefined) this.#noRoute(ctx)
    else this.#serve(ctx, match)
  }

  #noRoute(ctx: RequestContext): void {
    if (ctx.trace !== undefined) ctx.trace.push({ type: 'no-route', method: ctx.method, host: ctx.host, path: ctx.path })
    ctx.error = 'no route matched'
    sendText(ctx, 404, `404 Not Found: no route matches ${ctx.method} ${ctx.host || '(no host)'}${ctx.path}`)
  }

  #serve(ctx: RequestContext, match: RouteMatchResult): void {
    ctx.route = match.route
    ctx.params = match.params
    if (ctx.trace !== undefined) ctx.trace.push(routeEvent(match.route, match.params))
    // A route with hooks goes through the pipeline (runOnRequest → … → onResponse, see
    // pipeline/hooked-route.ts); one without pays only this check.
    const hooks = ctx.generation.routeHooks[match.route.index]
    if (hooks !== undefined) return void serveWithHooks(ctx, hooks, this.#pipeline)
    const action = match.route.action
    switch (action.type) {
      case 'forward': {
        const group = ctx.generation.groups.get(action.upstream)!
        const target = upstreamTarget(ctx.path, ctx.params, ctx.query, action.rewrite)
        if (match.route.cache !== undefined) return this.cache.handle(ctx, group, target)
        return forwardRequest(ctx, group, target, this.log)
      }
      case 'redirect': {
        const location = redirectLocation(action, ctx.params, ctx.query)
        return sendText(ctx, action.status, `Redirecting to ${location}`, ['location', location])
      }
      case 'respond':
        return send(ctx, action.status, [...action.headers.flat(), 'content-length', String(action.body.length)], action.body)
      case 'handle':
        void runHandler(ctx, action.handler, action.timeout, this.log)
    }
  }

  #finish(ctx: RequestContext, bytesIn?: number): void {
    const gen = ctx.generation
    const left = (this.#inflight.get(gen) ?? 1) - 1
    if (left > 0 || gen === this.#generation) this.#inflight.set(gen, left)
    else {
      this.#retire(gen)
      void this.#collect()
    }
    if (bytesIn === undefined && !ctx.res.writableFinished) {
      ctx.onClientAbort?.()
      ctx.error ??= 'client closed the connection before the response finished'
    }
    if (ctx.trace !== undefined) {
      ctx.trace.push({ type: 'end', status: ctx.status, upstream: ctx.server, error: ctx.error, durationMs: ctx.elapsedMs })
    }
    const hooks = ctx.routeHooks
    const observed = hooks !== undefined && hooks.onLog.length > 0
    if (!observed && !gen.config.log.access) return
    const record: AccessRecord = {
      method: ctx.method, target: ctx.target, host: ctx.hostHeader, status: ctx.status, route: ctx.route?.name,
      upstream: ctx.server, durationMs: ctx.elapsedMs, bytes: ctx.bytes, clientIp: ctx.clientIp, error: ctx.error,
    }
    if (bytesIn !== undefined) record.bytesIn = bytesIn
    if (ctx.annotations !== undefined) record.annotations = ctx.annotations
    // This runs in the response's 'close' event: a throw here (an onLog hook's logger, a custom
    // access logger, a field it cannot encode) would be uncaught and end the process.
    try {
      if (observed) {
        ctx.hooks!.timings.end = performance.now()
        runOnLog(hooks, ctx.hooks!, record, this.log)
      }
      if (gen.config.log.access) this.log.access(record)
    } catch (err) {
      this.#logFailed(err)
    }
  }

  #logFailed(err: unknown): void {
    if (this.#logFailureReported) return
    this.#logFailureReported = true
    try {
      this.log.error(`writing the access log failed (reported once): ${(err as Error)?.stack ?? String(err)}`)
    } catch {
      // the log itself is what fails
    }
  }

  /** `gen` has no requests left and is not current: close its middleware that no live Generation lists any more. */
  #retire(gen: Generation): void {
    if (!this.#inflight.delete(gen)) return
    const last: Middleware[] = []
    for (const m of gen.closers) {
      const refs = (this.#middlewareRefs.get(m) ?? 1) - 1
      if (refs > 0) this.#middlewareRefs.set(m, refs)
      else {
        this.#middlewareRefs.delete(m)
        last.push(m)
      }
    }
    this.#closeMiddleware(last)
  }

  /** Runs each middleware's close(); failures are logged, never thrown. */
  #closeMiddleware(list: readonly Middleware[]): void {
    for (const m of list) {
      const run = (async () => {
        try {
          await m.close!()
        } catch (err) {
          this.log.error(`close() of middleware '${m.name}' failed: ${(err as Error)?.message ?? String(err)}`, { middleware: m.name })
        }
      })()
      this.#closingMiddleware.set(run, m.name)
      void run.then(() => this.#closingMiddleware.delete(run))
    }
  }

  /** Waits for running middleware close() calls, at most `#middlewareCloseTimeout` ms (a hung one is logged, not awaited). */
  async #closedMiddleware(): Promise<void> {
    if (this.#closingMiddleware.size === 0) return
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      Promise.all(this.#closingMiddleware.keys()).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#middlewareCloseTimeout))),
    ])
    clearTimeout(timer)
    if (timedOut) {
      const names = [...new Set(this.#closingMiddleware.values())].map((n) => `'${n}'`).join(', ')
      this.log.error(`close() of middleware ${names} did not finish within ${this.#middlewareCloseTimeout} ms: shutting down without it`)
    }
  }

  /** Close pools and forget server state that no live Generation uses. */
  async #collect(): Promise<void> {
    const poolKeys = new Set<string>()
    const origins = new Set<string>()
    for (const gen of this.#inflight.keys()) {
      const usage = gen.usage()
      usage.poolKeys.forEach((k) => poolKeys.add(k))
      usage.origins.forEach((o) => origins.add(o))
    }
    this.states.retain(origins)
    const storeIds = new Set<string>()
    for (const gen of this.#inflight.keys()) for (const id of CacheLayer.storeIds(gen.config)) storeIds.add(id)
    await this.cache.stores.retain(storeIds)
    await this.pools.retain(poolKeys)
  }

  async #syncListeners(config: ResolvedConfig): Promise<void> {
    const wanted = new Map(config.listen.map((l) => [`${l.host}|${l.port}`, l]))
    for (const [key, listener] of this.#listeners) {
      if (wanted.has(key) && listener.address.port !== 0) continue
      if (wanted.has(key)) continue // port 0: keep the port the OS gave us
      this.#listeners.delete(key)
      await listener.close(config.server.drainTimeout)
    }
    for (const [key, address] of wanted) {
      if (this.#listeners.has(key)) continue
      const listener = new NodeListener(address, config.server, this.handle, (r) => {
        if (r.connections) this.log.warn(`connections refused: ${r.reason}`)
        else this.log.info(`request refused (${r.status}): ${r.reason}`, { method: r.method, target: r.target, clientIp: r.clientIp })
      }, this.handleUpgrade, this.#fast)
      await listener.listen()
      this.#listeners.set(key, listener)
    }
  }

  /** Graceful stop: no new connections, in-flight requests get up to `drainTimeout` ms. */
  async close(drainTimeout = this.#generation?.config.server.drainTimeout ?? 10_000): Promise<void> {
    this.#closing = true
    // A load still opening listeners (or the admin port) would add them after the loop below.
    await Promise.allSettled(this.#loads)
    await Promise.all([...this.#listeners.values()].map((l) => l.close(drainTimeout)))
    this.#listeners.clear()
    this.#closeMiddleware([...this.#middlewareRefs.keys()])
    this.#middlewareRefs.clear()
    await this.#closedMiddleware()
    await this.admin.close()
    await this.cache.close()
    await this.pools.closeAll(true)
  }
}

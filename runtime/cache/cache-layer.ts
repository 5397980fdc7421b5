// The shared HTTP cache in the request path, for routes with `cache`. Decisions come from the
// pure policy functions (policy.ts), storage from a CacheStore; this file wires them to the
// forwarder through ResponseSinks:
//
//   lookup ─ fresh ───────────────▶ serve stored (304 to a matching client conditional)
//          ├ stale-while-revalidate ▶ serve stale + one background refresh per entry
//          ├ revalidate ───────────▶ conditional request: 304 → freshen + serve stored;
//          │                          5xx/failure inside stale-if-error → serve stale; else tee
//          └ miss ─────────────────▶ coalesce (one leader per key) → tee: client + store branch
//   unsafe method ─▶ pass through; after 2xx/3xx invalidate target (+ same-origin Location)
//   Range, or a method the route does not cache ─▶ pass through uncached
//
// Every response of a caching route carries Cache-Status (RFC 9211). The store never fails a
// request: a store that is down reads as a miss and refuses writes (pass-through).
import type { RequestContext } from '../context.js'
import type { ResolvedConfig, ResolvedRoute } from '../resolved-config.js'
import type { RuntimeLog } from '../log.js'
import type { UpstreamGroup } from '../upstream/upstream-group.js'
import { forwardRequest } from '../forward/forward.js'
import { sendError, sendText } from '../respond.js'
import { DEFAULT_CACHE_SETTINGS, storeId, type ResolvedCacheSettings, type ResolvedRouteCache } from './cache-config.js'
import { PassSink, StoreSink, TeeSink, type CacheSink, type StoreTarget } from './cache-sink.js'
import { Coalescer } from './coalescing.js'
import { detachedContext, ReportingSink } from './detached-context.js'
import { StoreRegistry } from './store-registry.js'
import { collectBody, writeNotModified, writeStored } from './serve-entry.js'
import {
  ageHeaderValue, cacheKeyForUrl, cacheStatus, currentAge, decide, defaultCacheKey, freshen, freshnessLifetime,
  invalidationUris, isNotModified, isStorable, isUnsafeMethod, selectForUpdate, type CacheDecision, type CacheOptions,
  type CacheStatusParams, type FieldList, type ForwardReason, type HeaderMap, type RequestLike,
} from './policy.js'
import type { CacheStore, StoredEntry } from './store.js'
import type { CacheKeyRequest } from '../../src/config/types.js'

/** Per route: its options as the policy wants them, and its store. */
interface RouteCache {
  cfg: ResolvedRouteCache
  route: ResolvedRoute
  options: CacheOptions
  optionsNoTtl: CacheOptions
  store: CacheStore
}

/** What can be served: a stored entry, or one just refreshed by a 304 (body of the old view). */
interface Servable {
  status: number
  headers: FieldList
  responseTime: number
  body: StoredEntry['body']
}

type Revalidate = Extract<CacheDecision<StoredEntry>, { kind: 'revalidate' }>
type Reusable = Extract<CacheDecision<StoredEntry>, { kind: 'fresh' | 'stale' | 'stale-while-revalidate' | 'revalidate' }>

export interface CacheLayerOptions {
  log: RuntimeLog
  /** Clock (epoch ms) for every cache decision and the memory store; tests inject one. */
  now?: () => number
}

export class CacheLayer {
  readonly now: () => number
  readonly stores: StoreRegistry
  readonly #log: RuntimeLog
  readonly #routes = new WeakMap<ResolvedRoute, RouteCache>()
  #coalescer: Coalescer
  readonly #refreshing = new Map<string, Promise<void>>()
  #waiting = 0

  constructor(options: CacheLayerOptions) {
    this.#log = options.log
    this.now = options.now ?? Date.now
    this.#coalescer = new Coalescer(DEFAULT_CACHE_SETTINGS.lockTimeout, this.now)
    this.stores = new StoreRegistry({ now: this.now, log: (level, message) => this.#log[level](message) })
  }

  /** Prepares the routes of a new config (stores are reused when their settings are unchanged). */
  configure(config: ResolvedConfig): void {
    const settings = config.cache ?? DEFAULT_CACHE_SETTINGS
    if (settings.lockTimeout !== this.#coalescer.timeoutMs) this.#coalescer = new Coalescer(settings.lockTimeout, this.now)
    for (const route of config.routes) {
      const cfg = route.cache
      if (!cfg) continue
      const options: CacheOptions = {
        methods: ['GET'],
        maxObjectSize: cfg.maxObjectSize,
        ignoreNoCache: cfg.ignoreNoCache,
        allowSetCookie: cfg.allowSetCookie,
        ...(cfg.ttl !== undefined ? { ttl: cfg.ttl } : {}),
        ...(cfg.staleWhileRevalidate !== undefined ? { staleWhileRevalidate: cfg.staleWhileRevalidate } : {}),
        ...(cfg.staleIfError !== undefined ? { staleIfError: cfg.staleIfError } : {}),
      }
      const { ttl: _ttl, ...optionsNoTtl } = options
      this.#routes.set(route, { cfg, route, options, optionsNoTtl, store: this.stores.get(storeSettings(settings, cfg)) })
    }
  }

  /** Store ids a config uses (for `StoreRegistry.retain`). */
  static storeIds(config: ResolvedConfig): string[] {
    const settings = config.cache ?? DEFAULT_CACHE_SETTINGS
    return config.routes.flatMap((r) => (r.cache ? [storeId(storeSettings(settings, r.cache))] : []))
  }

  /** Requests waiting on a coalesced miss (tests, metrics). */
  get waiting(): number {
    return this.#waiting
  }

  /** Resolves when background refreshes have finished (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.#refreshing.size > 0) await Promise.all(this.#refreshing.values())
  }

  /** Closes every store. Background refreshes still running find their store closed and give up. */
  async close(): Promise<void> {
    await this.stores.closeAll()
  }

  /** Entry point from the router for a forwarding route with `cache`. */
  handle(ctx: RequestContext, group: UpstreamGroup, path: string): void {
    const rc = this.#routes.get(ctx.route!)!
    this.#handle(ctx, group, path, rc).catch((err: unknown) => {
      this.#log.error(`cache layer error: ${(err as Error).stack ?? String(err)}`, { route: ctx.route?.name, target: ctx.target })
      if (!ctx.res.headersSent) sendError(ctx, 500, 'internal error in the cache layer')
      else ctx.res.destroy()
    })
  }

  async #handle(ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache): Promise<void> {
    const method = ctx.method
    if ((method !== 'GET' && method !== 'HEAD') || !rc.cfg.methods.includes(method)) {
      const invalidate = isUnsafeMethod(method) ? this.#invalidator(ctx, rc) : undefined
      return this.#pass(ctx, group, path, rc, cacheStatus({ fwd: 'method' }), invalidate)
    }
    // Ranges pass through uncached (documented choice): the upstream answers 206 itself.
    if (ctx.header('range') !== undefined) return this.#pass(ctx, group, path, rc, cacheStatus({ fwd: 'bypass', detail: 'range' }))
    let key: string
    try {
      key = rc.cfg.key ? rc.cfg.key(keyRequest(ctx)) : defaultCacheKey({ method: 'GET', scheme: 'http', host: ctx.hostHeader, path: ctx.path, query: ctx.query })
      if (typeof key !== 'string') throw new TypeError(`cache.key returned ${typeof key}, not a string`)
    } catch (err) {
      this.#log.error(`cache key function failed: ${(err as Error).message}; passing the request through`, { route: rc.route.name })
      return this.#pass(ctx, group, path, rc, cacheStatus({ fwd: 'bypass', detail: 'key-error' }))
    }
    const req: RequestLike = { method, headers: ctx.req.headers as HeaderMap }
    const healthy = rc.store.isHealthy()
    const entries = healthy ? await rc.store.get(key) : undefined
    if (ctx.res.destroyed) return
    const d = decide(req, entries, this.now(), rc.options)
    if (ctx.trace !== undefined) {
      ctx.trace.push({ type: 'cache', decision: d.kind, key, detail: healthy ? ('fwd' in d ? `fwd=${String(d.fwd)}` : undefined) : 'store unhealthy' })
    }
    switch (d.kind) {
      case 'fresh':
      case 'stale':
        if (await this.#serve(ctx, rc, req, d.entry, d.ageMs, { hit: true, ttlMs: d.ttlMs })) return
        return this.#miss(ctx, group, path, rc, key, 'miss', false)
      case 'stale-while-revalidate':
        if (!(await this.#serve(ctx, rc, req, d.entry, d.ageMs, { hit: true, ttlMs: d.ttlMs, detail: 'stale-while-revalidate' }))) {
          return this.#miss(ctx, group, path, rc, key, 'miss', false)
        }
        return this.#refresh(ctx, group, path, rc, key, d)
      case 'revalidate':
        return this.#revalidate(ctx, group, path, rc, key, req, d)
      case 'only-if-cached':
        return sendText(ctx, 504, '504 Gateway Timeout: not in cache (only-if-cached)', ['cache-status', cacheStatus({ detail: 'only-if-cached' })])
      case 'miss':
        return this.#miss(ctx, group, path, rc, key, d.fwd, healthy)
    }
  }

  /** Serves a stored response; false (nothing sent) when its body has vanished meanwhile. */
  async #serve(ctx: RequestContext, rc: RouteCache, req: RequestLike, entry: Servable, ageMs: number, status: CacheStatusParams): Promise<boolean> {
    const member = cacheStatus(status)
    const age = ageHeaderValue(ageMs)
    if (isNotModified(req, entry)) {
      writeNotModified(ctx, rc.route.responseHeaders, entry.headers, age, member)
      return true
    }
    let body: Buffer | undefined
    if (ctx.method !== 'HEAD') {
      const it = await entry.body()
      body = it && (await collectBody(it))
      if (body === undefined) return false
    }
    writeStored(ctx, rc.route.responseHeaders, entry.status, entry.headers, body, age, member)
    return true
  }

  #target(rc: RouteCache, key: string, ctx: RequestContext): StoreTarget {
    return {
      store: rc.store, key, req: { method: 'GET', headers: ctx.req.headers as HeaderMap }, options: rc.options, optionsNoTtl: rc.optionsNoTtl,
      tags: rc.cfg.tags, maxObjectSize: rc.cfg.maxObjectSize, now: this.now,
    }
  }

  /** A miss: coalesced with an identical miss in flight, else forwarded and stored on the way. */
  async #miss(ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache, key: string, fwd: ForwardReason, coalesce: boolean): Promise<void> {
    let release: (stored: boolean, unstorable: boolean) => void = () => {}
    if (coalesce && this.#coalescer.shouldCoalesce(key)) {
      const waiting = this.#coalescer.waitFor(key)
      if (waiting) {
        this.#waiting++
        await waiting
        this.#waiting--
        if (ctx.res.destroyed) return
        const req: RequestLike = { method: ctx.method, headers: ctx.req.headers as HeaderMap }
        const d = decide(req, await rc.store.get(key), this.now(), rc.options)
        if ((d.kind === 'fresh' || d.kind === 'stale') &&
          (await this.#serve(ctx, rc, req, d.entry, d.ageMs, { fwd, collapsed: true, ttlMs: d.ttlMs }))) return
        // Not stored (or not reusable for this request): go upstream ourselves, uncoalesced.
      } else {
        const unlock = this.#coalescer.lead(key)
        release = (_stored, unstorable) => {
          if (unstorable) this.#coalescer.markUncacheable(key)
          unlock()
        }
      }
    }
    const sink = new TeeSink(ctx, rc.route.responseHeaders, this.#target(rc, key, ctx), fwd, this.now(), release)
    this.#forward(ctx, group, path, sink, true, undefined)
  }

  #revalidate(ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache, key: string, req: RequestLike, d: Revalidate): void {
    const requestTime = this.now()
    let mode: 'wait' | 'freshen' | 'stale' | 'pass' = 'wait'
    let tee: TeeSink | undefined
    let notModified: FieldList = []
    const serveStale = (fwdStatus: number | undefined, why: string): void => {
      mode = 'stale'
      ctx.error = undefined
      this.#log.warn(`serving stale (stale-if-error): ${why}`, { route: rc.route.name, target: ctx.target })
      const ageMs = currentAge(d.entry, this.now())
      const ttlMs = freshnessLifetime(d.entry, d.entry.responseTime, rc.options).lifetime - ageMs
      const params: CacheStatusParams = { fwd: d.fwd, ttlMs, detail: 'stale-if-error', ...(fwdStatus !== undefined ? { fwdStatus } : {}) }
      void this.#serve(ctx, rc, req, d.entry, ageMs, params).then((ok) => {
        if (!ok) sendError(ctx, fwdStatus ?? 502, why, ['cache-status', cacheStatus({ fwd: d.fwd })])
      })
    }
    const sink: CacheSink = {
      head: (status, headers, resume) => {
        if (status === 304) {
          mode = 'freshen'
          notModified = headers.length > 0 ? pairsOf(headers) : []
          return true
        }
        if (status >= 500 && d.staleIfError) {
          serveStale(status, `upstream answered ${status}`)
          return true
        }
        mode = 'pass'
        tee = new TeeSink(ctx, rc.route.responseHeaders, this.#target(rc, key, ctx), d.fwd, requestTime, () => {})
        return tee.head(status, headers, resume)
      },
      data: (chunk) => (mode === 'pass' ? tee!.data(chunk) : true),
      end: () => {
        if (mode === 'pass') return tee!.end()
        if (mode === 'freshen') void this.#afterNotModified(ctx, group, path, rc, key, req, d, notModified, requestTime)
      },
      error: (failure, started) => sink.fail(failure.status, failure.reason, started),
      fail: (status, reason, started) => {
        if (mode === 'pass') return tee!.fail(status, reason, started)
        if (mode === 'stale') return
        if (d.staleIfError) return serveStale(undefined, reason)
        ctx.error = reason
        sendError(ctx, status, reason, ['cache-status', cacheStatus({ fwd: d.fwd })])
      },
      abort: () => tee?.abort(),
    }
    this.#forward(ctx, group, path, sink, true, d.conditionalHeaders)
  }

  /** A 304 answered our validation: freshen the stored entries, serve the one asked for. */
  async #afterNotModified(
    ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache, key: string, req: RequestLike, d: Revalidate,
    notModified: FieldList, requestTime: number,
  ): Promise<void> {
    const mine = await this.#freshen(rc, key, d.entry, notModified, requestTime)
    if (ctx.res.destroyed) return
    if (!mine) {
      // The 304 did not match what we hold: it answers the client's own conditional.
      return writeNotModified(ctx, rc.route.responseHeaders, notModified, undefined, cacheStatus({ fwd: d.fwd, fwdStatus: 304 }))
    }
    const ageMs = currentAge(mine, this.now())
    const ttlMs = freshnessLifetime(mine, mine.responseTime, rc.options).lifetime - ageMs
    const servable: Servable = { status: mine.status, headers: mine.headers, responseTime: mine.responseTime, body: d.entry.body }
    if (await this.#serve(ctx, rc, req, servable, ageMs, { fwd: d.fwd, fwdStatus: 304, ttlMs, stored: true })) return
    return this.#miss(ctx, group, path, rc, key, 'miss', false)
  }

  /** §4.3.4: update every stored response the 304 selects; returns the refreshed `validated`. */
  async #freshen(rc: RouteCache, key: string, validated: StoredEntry, notModified: FieldList, requestTime: number) {
    const all = (await rc.store.get(key)) ?? [validated]
    const times = { requestTime, responseTime: this.now() }
    const storeReq: RequestLike = { method: 'GET', headers: {} }
    let mine: ReturnType<typeof freshen> | undefined
    for (const e of selectForUpdate(all, notModified, validated)) {
      const refreshed = freshen(e, notModified, times, rc.options)
      if (isStorable(storeReq, refreshed, rc.options).storable) await rc.store.updateMeta(refreshed)
      else await rc.store.delete(key, e.variantKey)
      if (e.variantKey === validated.variantKey) mine = refreshed
    }
    return mine
  }

  /** stale-while-revalidate: one background refresh per stored variant at a time. */
  #refresh(ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache, key: string, d: Reusable & { conditionalHeaders: Record<string, string> }): void {
    const id = `${key}\u0000${d.entry.variantKey}`
    if (this.#refreshing.has(id)) return
    const requestTime = this.now()
    const done = new Promise<void>((resolve) => {
      const sink = new StoreSink(
        this.#target(rc, key, ctx), requestTime,
        (notModified) => this.#freshen(rc, key, d.entry, notModified, requestTime),
        () => rc.store.delete(key, d.entry.variantKey),
        resolve,
      )
      this.#forward(ctx, group, path, sink, false, d.conditionalHeaders)
    }).finally(() => this.#refreshing.delete(id))
    this.#refreshing.set(id, done)
  }

  #pass(ctx: RequestContext, group: UpstreamGroup, path: string, rc: RouteCache, member: string, invalidate?: (status: number, headers: FieldList) => Promise<unknown>): void {
    if (ctx.trace !== undefined) ctx.trace.push({ type: 'cache', decision: 'pass', key: undefined, detail: member })
    this.#forward(ctx, group, path, new PassSink(ctx, rc.route.responseHeaders, member, invalidate), true, undefined, ctx.method)
  }

  /** RFC 9111 §4.4: after a successful unsafe request, drop what the target URI (and friends) had stored. */
  #invalidator(ctx: RequestContext, rc: RouteCache) {
    return async (status: number, headers: FieldList): Promise<void> => {
      const url = `http://${ctx.hostHeader || 'localhost'}${ctx.target}`
      const uris = invalidationUris({ method: ctx.method, url }, { status, headers })
      await Promise.all(uris.map((u) => {
        try {
          return rc.store.delete(cacheKeyForUrl('GET', u))
        } catch {
          return undefined
        }
      }))
    }
  }

  /**
   * Forwards through a detached context (see detached-context.ts), so that every outcome — including
   * "no server available" — reaches `sink`. `attach` ties the exchange to the client's lifetime.
   */
  #forward(
    ctx: RequestContext, group: UpstreamGroup, path: string, target: CacheSink, attach: boolean,
    conditional: Record<string, string> | undefined, method = 'GET',
  ): void {
    const view = detachedContext(ctx, () => sink.fail(503, view.error ?? 'no server available', false))
    const sink: CacheSink = attach ? new ReportingSink(ctx, view, target) : target
    if (attach) {
      ctx.onClientAbort = () => {
        view.onClientAbort?.()
        sink.abort()
      }
    }
    const setHeaders = conditional ? Object.entries(conditional) : undefined
    forwardRequest(view, group, path, this.#log, { sink, method, ...(setHeaders && setHeaders.length > 0 ? { setHeaders } : {}) })
  }
}

function storeSettings(settings: ResolvedCacheSettings, cfg: ResolvedRouteCache) {
  return cfg.store === 'redis' && settings.redis ? settings.redis : settings.memory
}

function pairsOf(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

function keyRequest(ctx: RequestContext): CacheKeyRequest {
  return {
    method: 'GET',
    scheme: 'http',
    host: ctx.hostHeader,
    path: ctx.path,
    query: ctx.query,
    params: ctx.params,
    header: (name) => ctx.header(name.toLowerCase()),
  }
}

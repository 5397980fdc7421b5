// The shared HTTP cache in the request path, for routes with `cache`. Decisions come from the
// pure policy functions (policy.ts), storage from a CacheStore; this file wires them to the
// forwarder through ResponseSinks:
//
//   lookup ─ fresh ───────────────▶ serve stored (304 / 412 to a client precondition)
//          ├ stale-while-revalidate ▶ serve stale + one background refresh per entry
//          ├ revalidate ───────────▶ conditional request: 304 → freshen + serve stored (a 304
//          │                          that matches nothing stored → unconditional miss);
//          │                          5xx/failure inside stale-if-error → serve stale; else tee
//          └ miss ─────────────────▶ coalesce (one leader per key) → tee: client + store branch
//   unsafe method ─▶ pass through; after 2xx/3xx invalidate target (+ same-origin Location)
//   Range, or a method the route does not cache ─▶ pass through uncached
//
// The client's preconditions never go upstream on the cache's own requests (miss, revalidation,
// refresh): the origin's 304 or 412 could not be stored. The cache evaluates them itself against
// what it serves (RFC 9110 §13.2.2), as nginx does.
//
// Every response of a caching route carries Cache-Status (RFC 9211). The store never fails a
// request: a store that is down reads as a miss and refuses writes (pass-through).
//
// A hit on a store that answers synchronously (memory: `getNow`, `bodyNow`) is served within
// `handle`, with facts about the stored response parsed once per entry (entry-facts.ts) and its
// header lines flattened once (serve-entry.ts). A hooked route passes CacheUpstreamHooks
// (upstream-hooks.ts): every exchange the layer has with the upstream runs through them.
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
import { writeNotModified, writeStored, writeStoredRange } from './serve-entry.js'
import { firstHeader } from './headers.js'
import {
  ageHeaderValue, cacheStatus, currentAge, decide, freshen, isNotModified, freshnessLifetime, hitStatus, httpGetKey,
  invalidationReferences, isStorable, isUnsafeMethod, PRECONDITION_FIELDS, selectForUpdate, toPairs, withoutFields,
  type CacheDecision, type CacheOptions, type CacheStatusParams, type FieldList, type ForwardReason, type HeaderMap,
  type RequestLike,
} from './policy.js'
import { canonicalize, type CanonicalTarget } from '../canonical.js'
import { readBody, type CacheStore, type StoredEntry } from './store.js'
import { HookedExchangeSink, type CacheUpstreamHooks } from './upstream-hooks.js'
import { SURROGATE_CAPABILITY } from './cache-control.js'
import type { CacheKeyRequest } from '../../src/config/types.js'

/** Where a request's upstream exchanges go: the group, the path sent, and a hooked route's hooks. */
interface Upstream {
  group: UpstreamGroup
  path: string
  hooks: CacheUpstreamHooks | undefined
}

/** Per route: its options as the policy wants them, and its store. */
interface RouteCache {
  cfg: ResolvedRouteCache
  route: ResolvedRoute
  options: CacheOptions
  store: CacheStore
}

/** What can be served: a stored entry, or one just refreshed by a 304 (served with the old entry's body). */
interface Servable {
  readonly status: number
  readonly headers: FieldList
  readonly responseTime: number
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
      this.#routes.set(route, { cfg, route, options, store: this.stores.get(storeSettings(settings, cfg)) })
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

  /**
   * Entry point from the router for a forwarding route with `cache`. With a store that answers
   * synchronously (memory), a hit is served before this returns: no promise, no Web object.
   */
  handle(ctx: RequestContext, group: UpstreamGroup, path: string, hooks?: CacheUpstreamHooks): void {
    const rc = this.#routes.get(ctx.route!)!
    try {
      this.#lookup(ctx, { group, path, hooks }, rc)
    } catch (err) {
      this.#failed(ctx, err)
    }
  }

  #failed(ctx: RequestContext, err: unknown): void {
    this.#log.error(`cache layer error: ${(err as Error)?.stack ?? String(err)}`, { route: ctx.route?.name, target: ctx.target })
    if (!ctx.res.headersSent) sendError(ctx, 500, 'internal error in the cache layer')
    else ctx.res.destroy()
  }

  /** Work that finishes later: its failure answers 500 like a synchronous one. */
  #track(ctx: RequestContext, work: Promise<unknown>): void {
    work.catch((err: unknown) => this.#failed(ctx, err))
  }

  #lookup(ctx: RequestContext, up: Upstream, rc: RouteCache): void {
    const method = ctx.method
    if ((method !== 'GET' && method !== 'HEAD') || !rc.cfg.methods.includes(method)) {
      const invalidate = isUnsafeMethod(method) ? this.#invalidator(ctx, rc) : undefined
      return this.#pass(ctx, up, rc, cacheStatus({ fwd: 'method' }), invalidate)
    }
    // If-Match and If-Unmodified-Since are for the origin: "not applicable to a cache", which
    // "MUST NOT evaluate" them (RFC 9111 §4.3.2). Such a request goes there as it is, uncached.
    if (requestField(ctx, 'if-match') !== undefined || requestField(ctx, 'if-unmodified-since') !== undefined) {
      return this.#pass(ctx, up, rc, cacheStatus({ fwd: 'bypass', detail: 'precondition' }))
    }
    let key: string
    try {
      key = rc.cfg.key ? rc.cfg.key(keyRequest(ctx)) : httpGetKey(ctx.hostHeader, ctx.path, ctx.query, ctx.proto)
      if (typeof key !== 'string') throw new TypeError(`cache.key returned ${typeof key}, not a string`)
    } catch (err) {
      this.#log.error(`cache key function failed: ${(err as Error).message}; passing the request through`, { route: rc.route.name })
      return this.#pass(ctx, up, rc, cacheStatus({ fwd: 'bypass', detail: 'key-error' }))
    }
    const req: RequestLike = { method, headers: requestHeaders(ctx) }
    const store = rc.store
    if (!store.isHealthy()) return this.#decided(ctx, up, rc, key, req, undefined, false)
    if (store.getNow !== undefined) return this.#decided(ctx, up, rc, key, req, store.getNow(key), true)
    this.#track(ctx, store.get(key).then((entries) => this.#decided(ctx, up, rc, key, req, entries, true)))
  }

  #decided(
    ctx: RequestContext, up: Upstream, rc: RouteCache, key: string, req: RequestLike,
    entries: readonly StoredEntry[] | undefined, healthy: boolean,
  ): void {
    if (ctx.res.destroyed) return // the client left (while hooks or the store took their time)
    const d = decide(req, entries, this.now(), rc.options)
    if (ctx.trace !== undefined) {
      ctx.trace.push({ type: 'cache', decision: d.kind, key, detail: healthy ? ('fwd' in d ? `fwd=${String(d.fwd)}` : undefined) : 'store unhealthy' })
    }
    // A range is served from a stored response that can be used as it is (a hit); anything else
    // passes through uncached, and the upstream answers the range itself.
    if ((d.kind === 'miss' || d.kind === 'revalidate') && ctx.method === 'GET' && requestField(ctx, 'range') !== undefined) {
      return this.#pass(ctx, up, rc, cacheStatus({ fwd: 'bypass', detail: 'range' }))
    }
    switch (d.kind) {
      case 'fresh':
      case 'stale': {
        const served = this.#serve(ctx, rc, req, d.entry, d.entry, d.ageMs, hitStatus(d.ttlMs))
        if (served === true) return
        if (served === false) return this.#track(ctx, this.#miss(ctx, up, rc, key, req, 'miss', false))
        return this.#track(ctx, served.then((ok) => (ok ? undefined : this.#miss(ctx, up, rc, key, req, 'miss', false))))
      }
      case 'stale-while-revalidate':
        return this.#track(ctx, (async () => {
          const member = cacheStatus({ hit: true, ttlMs: d.ttlMs, detail: 'stale-while-revalidate' })
          if (!(await this.#serve(ctx, rc, req, d.entry, d.entry, d.ageMs, member))) return this.#miss(ctx, up, rc, key, req, 'miss', false)
          this.#refresh(ctx, up, rc, key, req, d)
        })())
      case 'revalidate':
        return this.#revalidate(ctx, up, rc, key, req, d)
      case 'only-if-cached':
        return sendText(ctx, 504, '504 Gateway Timeout: not in cache (only-if-cached)', ['cache-status', cacheStatus({ detail: 'only-if-cached' })])
      case 'miss':
        return this.#track(ctx, this.#miss(ctx, up, rc, key, req, d.fwd, healthy))
    }
  }

  /**
   * Serves a stored response (`entry`'s status and lines, `bodyOf`'s body): true when sent, false
   * (nothing sent) when the body has vanished meanwhile. Synchronous for stores with `bodyNow`;
   * a promise for stores whose bodies take I/O.
   */
  #serve(
    ctx: RequestContext, rc: RouteCache, req: RequestLike, entry: Servable, bodyOf: StoredEntry, ageMs: number, member: string,
  ): boolean | Promise<boolean> {
    const age = ageHeaderValue(ageMs)
    // (If-Match / If-Unmodified-Since never get here: such requests go to the origin.)
    if (hasPreconditions(req.headers as HeaderMap) && isNotModified(req, entry)) {
      writeNotModified(ctx, rc.route.responseHeaders, entry.headers, age, member)
      return true
    }
    if (ctx.method === 'HEAD') {
      writeStored(ctx, rc.route.responseHeaders, entry.status, entry.headers, undefined, age, member)
      return true
    }
    if (bodyOf.bodyNow === undefined) return this.#serveLater(ctx, rc, req, entry, bodyOf, age, member)
    const body = bodyOf.bodyNow()
    if (body === undefined) return false
    this.#write(ctx, rc, req, entry, body, age, member)
    return true
  }

  async #serveLater(ctx: RequestContext, rc: RouteCache, req: RequestLike, entry: Servable, bodyOf: StoredEntry, age: string, member: string): Promise<boolean> {
    const it = await bodyOf.body()
    const body = it && (await readBody(it))
    if (body === undefined) return false
    this.#write(ctx, rc, req, entry, body, age, member)
    return true
  }

  /** A stored response with its body; a GET's Range of a stored 200 is answered from it. */
  #write(ctx: RequestContext, rc: RouteCache, req: RequestLike, entry: Servable, body: Buffer, age: string, member: string): void {
    const range = entry.status === 200 && ctx.method === 'GET' ? firstHeader(req.headers, 'range') : undefined
    if (range === undefined) return writeStored(ctx, rc.route.responseHeaders, entry.status, entry.headers, body, age, member)
    writeStoredRange(ctx, rc.route.responseHeaders, entry.headers, body, range, firstHeader(req.headers, 'if-range'), age, member)
  }

  #target(rc: RouteCache, key: string, req: RequestLike): StoreTarget {
    return {
      store: rc.store, key, req: { method: 'GET', headers: req.headers }, options: rc.options,
      tags: rc.cfg.tags, maxObjectSize: rc.cfg.maxObjectSize, now: this.now,
    }
  }

  /** A miss: coalesced with an identical miss in flight, else forwarded and stored on the way. */
  async #miss(ctx: RequestContext, up: Upstream, rc: RouteCache, key: string, req: RequestLike, fwd: ForwardReason, coalesce: boolean): Promise<void> {
    let release: (stored: boolean, unstorable: boolean) => void = () => {}
    if (coalesce && this.#coalescer.shouldCoalesce(key)) {
      const waiting = this.#coalescer.waitFor(key)
      if (waiting) {
        this.#waiting++
        await waiting
        this.#waiting--
        if (ctx.res.destroyed) return
        const d = decide(req, await rc.store.get(key), this.now(), rc.options)
        if ((d.kind === 'fresh' || d.kind === 'stale') &&
          (await this.#serve(ctx, rc, req, d.entry, d.entry, d.ageMs, cacheStatus({ fwd, collapsed: true, ttlMs: d.ttlMs })))) return
        // Not stored (or not reusable for this request): go upstream ourselves, uncoalesced.
      } else {
        const unlock = this.#coalescer.lead(key)
        release = (_stored, unstorable) => {
          if (unstorable) this.#coalescer.markUncacheable(key)
          unlock()
        }
      }
    }
    const sink = new TeeSink(ctx, rc.route.responseHeaders, this.#target(rc, key, req), fwd, this.now(), release, req)
    this.#forward(ctx, up, sink, true, undefined)
  }

  #revalidate(ctx: RequestContext, up: Upstream, rc: RouteCache, key: string, req: RequestLike, d: Revalidate): void {
    const requestTime = this.now()
    let mode: 'wait' | 'freshen' | 'stale' | 'pass' = 'wait'
    let tee: TeeSink | undefined
    let notModified: FieldList = []
    let vetoed = false
    const serveStale = (fwdStatus: number | undefined, why: string): void => {
      mode = 'stale'
      ctx.error = undefined
      this.#log.warn(`serving stale (stale-if-error): ${why}`, { route: rc.route.name, target: ctx.target })
      const ageMs = currentAge(d.entry, this.now())
      const ttlMs = freshnessLifetime(d.entry, d.entry.responseTime, rc.options).lifetime - ageMs
      const params: CacheStatusParams = { fwd: d.fwd, ttlMs, detail: 'stale-if-error', ...(fwdStatus !== undefined ? { fwdStatus } : {}) }
      this.#track(ctx, Promise.resolve(this.#serve(ctx, rc, req, d.entry, d.entry, ageMs, cacheStatus(params))).then((ok) => {
        if (!ok) sendError(ctx, fwdStatus ?? 502, why, ['cache-status', cacheStatus({ fwd: d.fwd })])
      }))
    }
    const sink: CacheSink = {
      head: (status, headers, resume) => {
        if (status === 304) {
          mode = 'freshen'
          notModified = headers.length > 0 ? toPairs(headers) : []
          return true
        }
        if (status >= 500 && d.staleIfError) {
          serveStale(status, `upstream answered ${status}`)
          return true
        }
        mode = 'pass'
        tee = new TeeSink(ctx, rc.route.responseHeaders, this.#target(rc, key, req), d.fwd, requestTime, () => {}, req)
        if (vetoed) tee.veto()
        return tee.head(status, headers, resume)
      },
      data: (chunk) => (mode === 'pass' ? tee!.data(chunk) : true),
      end: () => {
        if (mode === 'pass') return tee!.end()
        if (mode === 'freshen') this.#track(ctx, this.#afterNotModified(ctx, up, rc, key, req, d, notModified, requestTime, vetoed))
      },
      error: (failure, started) => sink.fail(failure.status, failure.reason, started),
      fail: (status, reason, started) => {
        if (mode === 'pass') {
          // The client's head is held until the first body byte (ClientSink): if none came,
          // nothing was sent, and stale-if-error still applies.
          if (!d.staleIfError || ctx.res.headersSent) return tee!.fail(status, reason, started)
          tee!.abort()
        }
        if (mode === 'stale') return
        if (d.staleIfError) return serveStale(undefined, reason)
        ctx.error = reason
        sendError(ctx, status, reason, ['cache-status', cacheStatus({ fwd: d.fwd })])
      },
      abort: () => tee?.abort(),
      veto: () => void (vetoed = true),
    }
    this.#forward(ctx, up, sink, true, d.conditionalHeaders)
  }

  /** A 304 answered our validation: freshen the stored entries, serve the one asked for. */
  async #afterNotModified(
    ctx: RequestContext, up: Upstream, rc: RouteCache, key: string, req: RequestLike, d: Revalidate,
    notModified: FieldList, requestTime: number, vetoed: boolean,
  ): Promise<void> {
    // A hook's veto: the 304 refreshes what this client gets, not what is stored.
    const mine = vetoed ? this.#refreshed(rc, d.entry, notModified, requestTime) : await this.#freshen(rc, key, d.entry, notModified, requestTime)
    if (ctx.res.destroyed) return
    // The 304 selects nothing we validated (no validator and several variants, or a weak ETag
    // another variant shares): we have no response to serve, so ask for a full one. (It never
    // answers the client's own conditional: that was not sent.)
    if (!mine) return this.#miss(ctx, up, rc, key, req, d.fwd, false)
    const ageMs = currentAge(mine, this.now())
    const ttlMs = freshnessLifetime(mine, mine.responseTime, rc.options).lifetime - ageMs
    const member = cacheStatus({ fwd: d.fwd, fwdStatus: 304, ttlMs, ...(vetoed ? { detail: 'vetoed' } : { stored: true }) })
    if (await this.#serve(ctx, rc, req, mine, d.entry, ageMs, member)) return
    return this.#miss(ctx, up, rc, key, req, 'miss', false)
  }

  /** §4.3.4: update every stored response the 304 selects; returns the refreshed `validated`. */
  async #freshen(rc: RouteCache, key: string, validated: StoredEntry, notModified: FieldList, requestTime: number) {
    const all = (await rc.store.get(key)) ?? [validated]
    const times = { requestTime, responseTime: this.now() }
    const storeReq: RequestLike = { method: 'GET', headers: {} }
    let mine: ReturnType<typeof freshen> | undefined
    for (const e of selectForUpdate(all, notModified, validated)) {
      const refreshed = freshen(e, notModified, times, rc.options)
      if (isStorable(storeReq, refreshed, rc.options, times.responseTime).storable) await rc.store.updateMeta(refreshed)
      else await rc.store.delete(key, e.variantKey)
      if (e.variantKey === validated.variantKey) mine = refreshed
    }
    return mine
  }

  /** `validated` refreshed by a 304 without storing it (undefined when the 304 does not select it). */
  #refreshed(rc: RouteCache, validated: StoredEntry, notModified: FieldList, requestTime: number) {
    if (selectForUpdate([validated], notModified, validated).length === 0) return undefined
    return freshen(validated, notModified, { requestTime, responseTime: this.now() }, rc.options)
  }

  /** stale-while-revalidate: one background refresh per stored variant at a time. */
  #refresh(
    ctx: RequestContext, up: Upstream, rc: RouteCache, key: string, req: RequestLike, d: Reusable & { conditionalHeaders: Record<string, string> },
  ): void {
    const id = `${key}\u0000${d.entry.variantKey}`
    if (this.#refreshing.has(id)) return
    const requestTime = this.now()
    const done = new Promise<void>((resolve) => {
      const sink = new StoreSink(
        this.#target(rc, key, req), requestTime,
        (notModified) => this.#freshen(rc, key, d.entry, notModified, requestTime),
        () => rc.store.delete(key, d.entry.variantKey),
        resolve,
      )
      this.#forward(ctx, up, sink, false, d.conditionalHeaders)
    }).finally(() => this.#refreshing.delete(id))
    this.#refreshing.set(id, done)
  }

  #pass(ctx: RequestContext, up: Upstream, rc: RouteCache, member: string, invalidate?: (status: number, headers: FieldList) => Promise<unknown>): void {
    if (ctx.trace !== undefined) ctx.trace.push({ type: 'cache', decision: 'pass', key: undefined, detail: member })
    this.#forward(ctx, up, new PassSink(ctx, rc.route.responseHeaders, member, invalidate), true, undefined, true)
  }

  /**
   * RFC 9111 §4.4: after a successful unsafe request, drop what the target URI and its same-origin
   * Location / Content-Location had stored — under the keys lookups use (`httpGetKey` of the
   * canonical path and query as sent), so every target a GET can hit is found.
   */
  #invalidator(ctx: RequestContext, rc: RouteCache) {
    return async (_status: number, headers: FieldList): Promise<void> => {
      const keys = [httpGetKey(ctx.hostHeader, ctx.path, ctx.query, ctx.proto)]
      const base = { scheme: ctx.proto, host: ctx.hostHeader, path: ctx.path, query: ctx.query }
      for (const ref of invalidationReferences(base, headers)) {
        const target = canonicalTarget(ref)
        if (target === undefined) continue // no request could ask for it (400): nothing is stored under it
        const key = httpGetKey(ctx.hostHeader, target.path, target.query, ctx.proto)
        if (!keys.includes(key)) keys.push(key)
      }
      await Promise.all(keys.map((key) => rc.store.delete(key)))
    }
  }

  /**
   * Forwards through a detached context (see detached-context.ts), so that every outcome — including
   * "no server available" — reaches `sink`. `attach` ties the exchange to the client's lifetime;
   * without it (a background refresh) nobody waits for the answer. A hooked route's upstream
   * hooks see the request first and the response head before `target` does.
   * The cache's own requests are GETs with its `validators` and without the client's
   * preconditions; `passThrough` sends the client's request as it is (its method, every field).
   */
  #forward(
    ctx: RequestContext, up: Upstream, target: CacheSink, attach: boolean,
    validators: Record<string, string> | undefined, passThrough = false,
  ): void {
    const view = detachedContext(ctx, () => sink.fail(503, view.error ?? 'no server available', false))
    let sink: CacheSink = attach ? new ReportingSink(ctx, view, target) : target
    const hooks = up.hooks
    if (hooks !== undefined) sink = new HookedExchangeSink(sink, hooks, !attach, () => view.onClientAbort?.())
    let gone = false
    if (attach) {
      ctx.onClientAbort = () => {
        gone = true
        view.onClientAbort?.()
        sink.abort()
      }
    }
    const method = passThrough ? ctx.method : 'GET'
    const setHeaders = validators ? Object.entries(validators) : []
    // Only this cache's capabilities: a client's own would choose what the origin sends, stored
    // for everyone under the same key (as Varnish does, the field is set, not appended to).
    setHeaders.push(['surrogate-capability', SURROGATE_CAPABILITY])
    const drop = passThrough ? undefined : preconditionsOf(requestHeaders(ctx))
    if (hooks === undefined) {
      return forwardRequest(view, up.group, up.path, this.#log, {
        sink,
        method,
        ...(setHeaders.length > 0 ? { setHeaders } : {}),
        ...(drop !== undefined ? { rawHeaders: withoutFields(ctx.req.rawHeaders, drop) } : {}),
      })
    }
    hooks.request({ method, path: up.path, setHeaders, ...(drop !== undefined ? { dropHeaders: drop } : {}) }, !attach).then((out) => {
      if (gone) return
      forwardRequest(view, up.group, out.path, this.#log, {
        sink,
        method: out.method,
        ...(out.setHeaders.length > 0 ? { setHeaders: out.setHeaders } : {}),
        ...(out.rawHeaders !== undefined ? { rawHeaders: out.rawHeaders } : {}),
        ...(out.body !== undefined ? { body: out.body } : {}),
        ...(out.server !== undefined ? { server: out.server } : {}),
      })
    }, () => sink.abort()) // a hook failed: its side has answered the client
  }
}

function storeSettings(settings: ResolvedCacheSettings, cfg: ResolvedRouteCache) {
  return cfg.store === 'redis' && settings.redis ? settings.redis : settings.memory
}

/** A target canonicalized as the router does, or undefined where the router answers 400. */
function canonicalTarget(target: string): CanonicalTarget | undefined {
  try {
    return canonicalize(target)
  } catch {
    return undefined
  }
}

/** Whether a request carries a precondition (one property lookup each: most carry none). */
function hasPreconditions(h: HeaderMap): boolean {
  return h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined || h['if-match'] !== undefined ||
    h['if-unmodified-since'] !== undefined
}

/** The precondition fields a request carries (lowercase names), or undefined when none. */
function preconditionsOf(h: HeaderMap): string[] | undefined {
  return hasPreconditions(h) ? PRECONDITION_FIELDS.filter((n) => h[n] !== undefined) : undefined
}

function keyRequest(ctx: RequestContext): CacheKeyRequest {
  return {
    method: 'GET',
    scheme: ctx.proto,
    host: ctx.hostHeader,
    path: ctx.path,
    query: ctx.query,
    params: ctx.params,
    header: (name) => requestField(ctx, name.toLowerCase()),
  }
}

/**
 * The request's fields as the cache sees them (directives, Vary, conditionals): the client's —
 * or, once hooks have looked at them (`ctx.headers` in onRequest), the hooks' version, changes
 * included, which is also what goes upstream.
 */
function requestHeaders(ctx: RequestContext): HeaderMap {
  const hooks = ctx.hooks
  if (hooks === undefined || !hooks.headersTouched) return ctx.req.headers as HeaderMap
  const out: Record<string, string> = {}
  for (const [name, value] of hooks.headers) out[name] = value
  return out
}

/** One request field (lowercase name), as `requestHeaders` sees it: the first line of it. */
function requestField(ctx: RequestContext, name: string): string | undefined {
  const hooks = ctx.hooks
  if (hooks === undefined || !hooks.headersTouched) return ctx.header(name)
  return hooks.headers.get(name) ?? undefined
}

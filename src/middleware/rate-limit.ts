/**
 * `rateLimit()`: limit how often a client (by address, header, or any key) may call. Over the
 * limit → `429 Too Many Requests` with `Retry-After`; every response of a limited request carries
 * the IETF draft headers `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds)
 * and `RateLimit-Policy` (`limit;w=window`).
 *
 * ```ts
 * import { rateLimit, redisRateLimitStore } from 'switchyard/middleware'
 * use: [rateLimit({ limit: 100, window: '1m' })]                                    // per client IP, in memory
 * use: [rateLimit({ limit: 10, window: '1s', algorithm: 'sliding-window', key: 'header:x-api-key',
 *                   store: redisRateLimitStore({ url: 'redis://127.0.0.1:6379' }) })]  // shared by every instance
 * ```
 * Algorithms:
 * - `'token-bucket'` (default): a bucket of `limit` tokens refilled evenly over `window`; bursts
 *   up to `limit`, then `limit` per `window` on average. Reset = time until the bucket is full.
 * - `'sliding-window'`: the count of the current fixed window plus the previous window's count
 *   weighted by how much of it still overlaps the sliding window (Cloudflare's approximation);
 *   Reset = end of the current window.
 *
 * Keys: `'ip'` (default; the client address `ctx.clientIp` — behind proxies per the global
 * `trustProxy`, or this middleware's own `trustProxy` as in `ipFilter`),
 * `'header:NAME'` (requests without the header are not limited), or a function of the context
 * returning a key (or undefined: not limited).
 *
 * Stores: in memory by default (per process; bounded: idle keys are evicted, at most `maxKeys`
 * (default 100 000) are kept, the least recently used go first); `redisRateLimitStore` for a
 * limit shared by several proxies (one atomic Lua script per request). If the store fails (Redis
 * down) requests are let through (fail open), with one warning per outage (through `log`, by
 * default the request's `ctx.log`). `close()` (called by the proxy when the config that made
 * this middleware is retired) closes the store.
 */
import type { HookContext, Middleware } from '../config/hooks.js'
import { clientAddress, type TrustProxy } from './ip-filter.js'
import { durationOption, editHeaders, logTo, ownTrust, type Logger } from './util.js'

export type RateLimitAlgorithm = 'token-bucket' | 'sliding-window'

export interface RateLimitPolicy {
  algorithm: RateLimitAlgorithm
  limit: number
  windowMs: number
}

export interface RateLimitDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** ms until the quota is fully restored (token bucket) / the window ends (sliding window). */
  resetMs: number
  /** ms until a request would be allowed (0 when allowed). */
  retryAfterMs: number
}

/** Where counters live. `consume` takes one unit of `key`'s quota at time `now` (epoch ms). */
export interface RateLimitStore {
  consume(key: string, policy: RateLimitPolicy, now: number): RateLimitDecision | Promise<RateLimitDecision>
  /** Release connections (Redis); the memory store has nothing to close. A closed store may be used again (it reconnects). */
  close?(): void | Promise<void>
}

// ---- algorithms as pure functions (shared by the memory store and the Redis store's replies)

/** Math.ceil that ignores floating-point dust (800.0000000000001 → 800). */
function ceil(x: number): number {
  return Math.ceil(x - 1e-6)
}

export interface BucketState { tokens: number; at: number }

/** Token bucket: refill since `at`, take one token if there is one. */
export function tokenBucket(state: BucketState | undefined, p: RateLimitPolicy, now: number): { state: BucketState; decision: RateLimitDecision } {
  const rate = p.limit / p.windowMs
  let tokens = state ? Math.min(p.limit, state.tokens + Math.max(0, now - state.at) * rate) : p.limit
  const allowed = tokens >= 1
  if (allowed) tokens -= 1
  return { state: { tokens, at: now }, decision: bucketDecision(allowed, tokens, p) }
}

export function bucketDecision(allowed: boolean, tokens: number, p: RateLimitPolicy): RateLimitDecision {
  const rate = p.limit / p.windowMs
  return {
    allowed,
    limit: p.limit,
    remaining: Math.max(0, Math.floor(tokens + 1e-9)),
    resetMs: ceil((p.limit - tokens) / rate),
    retryAfterMs: allowed ? 0 : ceil((1 - tokens) / rate),
  }
}

export interface WindowState { window: number; current: number; previous: number }

/** Sliding window (two fixed-window counters, the previous one weighted by overlap). */
export function slidingWindow(state: WindowState | undefined, p: RateLimitPolicy, now: number): { state: WindowState; decision: RateLimitDecision } {
  const w = Math.floor(now / p.windowMs)
  let current = 0
  let previous = 0
  if (state && state.window === w) [current, previous] = [state.current, state.previous]
  else if (state && state.window === w - 1) previous = state.current
  const elapsed = now - w * p.windowMs
  const estimate = previous * (1 - elapsed / p.windowMs) + current
  const allowed = estimate + 1 <= p.limit
  if (allowed) current++
  const next = { window: w, current, previous }
  return { state: next, decision: windowDecision(allowed, next, p, now) }
}

export function windowDecision(allowed: boolean, s: WindowState, p: RateLimitPolicy, now: number): RateLimitDecision {
  const W = p.windowMs
  const elapsed = now - s.window * W
  const estimate = s.previous * (1 - elapsed / W) + s.current
  let retryAfterMs = 0
  if (!allowed) {
    // Earliest time the estimate drops to limit - 1 (room for one more).
    const room = p.limit - 1 - s.current
    if (room >= 0 && s.previous > 0) retryAfterMs = W * (1 - room / s.previous) - elapsed
    else retryAfterMs = W - elapsed + (s.current > 0 ? W * Math.max(0, 1 - (p.limit - 1) / s.current) : 0)
    retryAfterMs = Math.max(1, ceil(retryAfterMs))
  }
  return {
    allowed,
    limit: p.limit,
    remaining: Math.max(0, Math.floor(p.limit - estimate + 1e-9)),
    resetMs: ceil(W - elapsed),
    retryAfterMs,
  }
}

// ---- memory store

export interface MemoryStoreOptions {
  /** Most keys kept, default 100 000 (least recently used evicted first). */
  maxKeys?: number
}

export class MemoryRateLimitStore implements RateLimitStore {
  readonly maxKeys: number
  /** Insertion order = last use order (entries are re-inserted on use). */
  readonly #entries = new Map<string, { state: BucketState | WindowState; last: number; idleAfter: number }>()

  constructor(options: MemoryStoreOptions = {}) {
    this.maxKeys = options.maxKeys ?? 100_000
  }

  get size(): number {
    return this.#entries.size
  }

  consume(key: string, policy: RateLimitPolicy, now: number): RateLimitDecision {
    this.#evict(now)
    const entry = this.#entries.get(key)
    this.#entries.delete(key)
    const r = policy.algorithm === 'token-bucket'
      ? tokenBucket(entry?.state as BucketState | undefined, policy, now)
      : slidingWindow(entry?.state as WindowState | undefined, policy, now)
    // After this long unused, the key's state equals a fresh one: it can go.
    const idleAfter = policy.algorithm === 'token-bucket' ? r.decision.resetMs : 2 * policy.windowMs
    this.#entries.set(key, { state: r.state, last: now, idleAfter })
    while (this.#entries.size > this.maxKeys) this.#entries.delete(this.#entries.keys().next().value!)
    return r.decision
  }

  /** Drops idle entries from the least recently used end (amortized O(1) per call). */
  #evict(now: number): void {
    let checked = 0
    for (const [key, e] of this.#entries) {
      if (now - e.last < e.idleAfter || ++checked > 64) break
      this.#entries.delete(key)
    }
  }
}

export function memoryRateLimitStore(options: MemoryStoreOptions = {}): MemoryRateLimitStore {
  return new MemoryRateLimitStore(options)
}

// ---- the middleware

export interface RateLimitOptions {
  /** Requests allowed per window. */
  limit: number
  /** ms or '1m', default '1m'. */
  window?: number | string
  /** Default 'token-bucket'. */
  algorithm?: RateLimitAlgorithm
  /** Default 'ip'. */
  key?: 'ip' | `header:${string}` | ((ctx: HookContext) => string | undefined)
  /** For key 'ip': whose X-Forwarded-For to believe (see ipFilter). Default: the global `trustProxy`. */
  trustProxy?: TrustProxy
  /** Default: a memory store of its own. */
  store?: RateLimitStore
  /** Status when limited, default 429. */
  status?: number
  /**
   * Namespace of this limit's keys in the store, default `<algorithm>:<limit>:<window ms>` — so
   * limits with different policies sharing a store never share counters, and the same policy on
   * several proxies (or routes) does. Give two limits distinct names to keep them apart.
   */
  name?: string
  /** Clock (epoch ms), default Date.now; tests inject one. */
  now?: () => number
  /** Where the store-outage warning goes; default the request's `ctx.log`. */
  log?: Logger
}

const DECISION = 'rateLimit:decision'

export function rateLimitHeaders(d: RateLimitDecision, windowMs: number): Record<string, string> {
  return {
    'ratelimit-limit': String(d.limit),
    'ratelimit-remaining': String(d.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil(d.resetMs / 1000))),
    'ratelimit-policy': `${d.limit};w=${Math.max(1, Math.ceil(windowMs / 1000))}`,
  }
}

export function rateLimit(options: RateLimitOptions): Middleware {
  const limit = options.limit
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`rateLimit(): limit must be an integer ≥ 1, got ${limit}`)
  const windowMs = durationOption(options.window ?? '1m', 'rateLimit(): window')
  if (windowMs <= 0) throw new TypeError('rateLimit(): window must be > 0')
  const algorithm = options.algorithm ?? 'token-bucket'
  if (algorithm !== 'token-bucket' && algorithm !== 'sliding-window') throw new TypeError(`rateLimit(): unknown algorithm '${algorithm}'`)
  const policy: RateLimitPolicy = { algorithm, limit, windowMs }
  const store: RateLimitStore = options.store ?? new MemoryRateLimitStore()
  const now = options.now ?? Date.now
  const status = options.status ?? 429
  const log = options.log
  const trust = ownTrust(options.trustProxy)
  const k = options.key ?? 'ip'
  let keyOf: (ctx: HookContext) => string | undefined
  if (typeof k === 'function') keyOf = k
  else if (k === 'ip') keyOf = (ctx) => clientAddress(ctx, trust)
  else if (typeof k === 'string' && k.startsWith('header:') && k.length > 7) {
    const name = k.slice(7)
    keyOf = (ctx) => ctx.headers.get(name) ?? undefined
  } else throw new TypeError(`rateLimit(): key must be 'ip', 'header:NAME' or a function, got ${String(k)}`)
  let storeDown = false
  const namespace = `${options.name ?? `${algorithm === 'token-bucket' ? 'tb' : 'sw'}:${limit}:${windowMs}`}:`

  return {
    name: 'rateLimit',
    async onRequest(ctx) {
      const key = keyOf(ctx)
      if (key === undefined) return undefined
      let decision: RateLimitDecision
      try {
        decision = await store.consume(namespace + key, policy, now())
        if (storeDown) {
          storeDown = false
          logTo(log, ctx, 'info', 'rateLimit: store is answering again')
        }
      } catch (err) {
        if (!storeDown) {
          storeDown = true
          const message = `rateLimit: store failed, letting requests through until it recovers: ${(err as Error)?.message ?? String(err)}`
          logTo(log, ctx, 'warn', message)
        }
        return undefined
      }
      ctx.state[DECISION] = decision
      if (decision.allowed) return undefined
      return new Response('Too Many Requests\n', {
        status,
        headers: { 'content-type': 'text/plain; charset=utf-8', 'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) },
      })
    },
    onResponse(ctx, res) {
      const d = ctx.state[DECISION] as RateLimitDecision | undefined
      if (!d) return undefined
      const add = rateLimitHeaders(d, windowMs)
      return editHeaders(res, (h) => {
        for (const name in add) h.set(name, add[name]!)
      })
    },
    close: () => store.close?.(),
  }
}

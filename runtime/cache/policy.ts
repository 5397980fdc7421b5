// RFC 9111 shared-cache decisions as pure functions: the entry point the request path calls on
// lookup (`decide`), plus re-exports of the rules it is built from. No I/O, no clock: `now` is
// passed in (epoch ms).
import type { CacheOptions } from './cache-options.js'
import { requestCacheControl, responseCacheControl } from './cache-control.js'
import { revalidationHeaders, updateStoredHeaders } from './conditional.js'
import { currentAge, dateValue, freshnessLifetime, type StoredTimes } from './freshness.js'
import type { HeaderSource } from './headers.js'
import { headersToStore, storeUntil, type RequestLike } from './storable.js'
import type { NewEntry } from './store.js'
import { variantKey, varyMatches } from './vary.js'

export type { CacheOptions } from './cache-options.js'
export * from './cache-control.js'
export * from './cache-key.js'
export * from './cache-status.js'
export * from './conditional.js'
export * from './freshness.js'
export * from './headers.js'
export * from './http-date.js'
export * from './invalidation.js'
export * from './storable.js'
export * from './vary.js'

/** What `decide` needs of a stored response (a store's `StoredEntry` satisfies it). */
export interface CachedResponse extends StoredTimes {
  readonly status: number
  readonly headers: HeaderSource
  readonly variantKey: string
}

interface Served<E> {
  entry: E
  /** current_age in ms (send `ageHeaderValue(ageMs)` as Age). */
  ageMs: number
  /** Remaining freshness in ms; negative when stale (Cache-Status ttl). */
  ttlMs: number
}

/**
 * - `fresh`: serve `entry` (answer a client conditional with `isNotModified`).
 * - `stale`: serve `entry` stale; the client allowed it with max-stale. No revalidation needed.
 * - `stale-while-revalidate`: serve `entry` now and revalidate in the background (RFC 5861 §3)
 *   with `conditionalHeaders`.
 * - `revalidate`: forward with `conditionalHeaders` (replacing client preconditions). On 304,
 *   freshen via `selectForUpdate` + `updateStoredHeaders`; on a 5xx or a network error, serve
 *   `entry` stale if `staleIfError` (RFC 5861 §4), else pass the error on (504 for must-revalidate).
 *   `fwd` is the Cache-Status reason: 'stale' (stale/no-cache entry) or 'request' (client asked).
 * - `miss`: forward unconditionally; `fwd` is the Cache-Status reason.
 * - `only-if-cached`: the client forbade forwarding and nothing usable is stored: answer 504
 *   (RFC 9111 §5.2.1.7).
 */
export type CacheDecision<E> =
  | ({ kind: 'fresh' } & Served<E>)
  | ({ kind: 'stale' } & Served<E>)
  | ({ kind: 'stale-while-revalidate'; conditionalHeaders: Record<string, string> } & Served<E>)
  | ({
      kind: 'revalidate'
      fwd: 'stale' | 'request'
      conditionalHeaders: Record<string, string>
      staleIfError: boolean
    } & Served<E>)
  | { kind: 'miss'; fwd: 'method' | 'uri-miss' | 'vary-miss' }
  | { kind: 'only-if-cached' }

/** Whether a request may be answered from the cache at all (GET and HEAD only). */
export function isLookupMethod(method: string): boolean {
  const m = method.toUpperCase()
  return m === 'GET' || m === 'HEAD'
}

/**
 * Among stored variants of one primary key, the one that may answer this request (§4.1): its
 * Vary-nominated fields must match; among several, the most recent by Date.
 */
export function selectVariant<E extends CachedResponse>(entries: readonly E[], requestHeaders: HeaderSource): E | undefined {
  let best: E | undefined
  for (const e of entries) {
    if (!varyMatches(e, requestHeaders)) continue
    if (!best || dateValue(e.headers, e.responseTime) > dateValue(best.headers, best.responseTime)) best = e
  }
  return best
}

/**
 * The lookup decision for `req` given every stored variant of its primary key (§4, §4.2.4,
 * §5.2.1, §5.2.2, RFC 5861). `entries` may be undefined or empty on a store miss.
 */
export function decide<E extends CachedResponse>(
  req: RequestLike,
  entries: readonly E[] | undefined,
  now: number,
  options: CacheOptions = {},
): CacheDecision<E> {
  if (!isLookupMethod(req.method)) return { kind: 'miss', fwd: 'method' }
  const rcc = requestCacheControl(req.headers)
  const onlyIfCached = rcc.onlyIfCached === true
  if (!entries || entries.length === 0) return onlyIfCached ? { kind: 'only-if-cached' } : { kind: 'miss', fwd: 'uri-miss' }
  const entry = selectVariant(entries, req.headers)
  if (!entry) return onlyIfCached ? { kind: 'only-if-cached' } : { kind: 'miss', fwd: 'vary-miss' }

  const cc = responseCacheControl(entry.headers)
  const { lifetime } = freshnessLifetime(entry, entry.responseTime, options, cc)
  const ageMs = currentAge(entry, now)
  const ttlMs = lifetime - ageMs
  const served: Served<E> = { entry, ageMs, ttlMs }
  const revalidate = (fwd: 'stale' | 'request', staleIfError: boolean): CacheDecision<E> =>
    onlyIfCached
      ? { kind: 'only-if-cached' }
      : { kind: 'revalidate', fwd, conditionalHeaders: revalidationHeaders(entry), staleIfError, ...served }

  // Stale responses are off limits with these (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10).
  const noStale = cc.noCache === true || cc.mustRevalidate === true || cc.proxyRevalidate === true || cc.sMaxAge !== undefined
  const staleness = Math.max(0, -ttlMs)
  const sieWindow = Math.max(
    cc.staleIfError !== undefined ? cc.staleIfError * 1000 : -1,
    rcc.staleIfError !== undefined ? rcc.staleIfError * 1000 : -1,
    options.staleIfError ?? -1,
  )
  const staleIfError = !noStale && staleness <= sieWindow

  // Unqualified no-cache: always revalidate (§5.2.2.4). A qualified no-cache="f" allows reuse
  // without the named fields, which `headersToStore` never stored in the first place.
  if (cc.noCache === true) return revalidate('stale', false)
  if (!options.ignoreNoCache) {
    // Request directives (§5.2.1): the client can demand validation or a younger/fresher response.
    if (rcc.noCache !== undefined) return revalidate('request', staleIfError)
    if (rcc.maxAge !== undefined && ageMs > rcc.maxAge * 1000) return revalidate('request', staleIfError)
  }
  if (rcc.minFresh !== undefined && ttlMs < rcc.minFresh * 1000) return revalidate('request', staleIfError)
  if (ttlMs > 0) return { kind: 'fresh', ...served }

  if (!noStale) {
    if (rcc.maxStale !== undefined && staleness <= rcc.maxStale * 1000) return { kind: 'stale', ...served }
    const swr = cc.staleWhileRevalidate !== undefined ? cc.staleWhileRevalidate * 1000 : options.staleWhileRevalidate
    if (swr !== undefined && staleness <= swr) {
      return { kind: 'stale-while-revalidate', conditionalHeaders: revalidationHeaders(entry), ...served }
    }
  }
  return revalidate('stale', staleIfError)
}

/** What to do with the answer to a revalidation request (§4.3.3, RFC 5861 §4). */
export type ValidationOutcome =
  /** 304: freshen the stored entries (`selectForUpdate`, `freshen`) and serve the refreshed one. */
  | 'freshen'
  /** 5xx or no answer, and the stale entry may be served (stale-if-error). */
  | 'serve-stale'
  /** Anything else: use this response (and store it if `isStorable`); 504 if there was none. */
  | 'use-response'

/** `status` undefined means the upstream could not be reached at all. */
export function validationOutcome(status: number | undefined, staleIfError: boolean): ValidationOutcome {
  if (status === 304) return 'freshen'
  if (status === undefined || status >= 500) return staleIfError ? 'serve-stale' : 'use-response'
  return 'use-response'
}

/** A new store entry for a storable response (`isStorable` said yes). */
export function newEntry(
  init: {
    key: string
    req: RequestLike
    res: { readonly status: number; readonly headers: HeaderSource }
    requestTime: number
    responseTime: number
    tags?: readonly string[]
  },
  options: CacheOptions = {},
): NewEntry | undefined {
  const vk = variantKey(init.res.headers, init.req.headers)
  if (vk === undefined) return undefined // Vary: *
  const timed = { ...init.res, requestTime: init.requestTime, responseTime: init.responseTime }
  return {
    key: init.key,
    variantKey: vk,
    status: init.res.status,
    headers: headersToStore(init.res.headers),
    requestTime: init.requestTime,
    responseTime: init.responseTime,
    expiresAt: storeUntil(timed, options),
    tags: [...(init.tags ?? [])],
  }
}

/**
 * A stored entry refreshed by a 304 (§4.3.4): headers updated per §3.2, times taken from the
 * validation exchange (so Age restarts from the 304's Date/Age), and a new `expiresAt`.
 * Pass the result to `store.updateMeta`; if the refreshed headers forbid storing (e.g. the 304
 * now says no-store), delete the entry instead, as `isStorable` on the result tells.
 */
export function freshen(
  stored: NewEntry,
  notModified: HeaderSource,
  times: { requestTime: number; responseTime: number },
  options: CacheOptions = {},
): NewEntry {
  const headers = updateStoredHeaders(stored.headers, notModified, options)
  const timed = { status: stored.status, headers, ...times }
  return {
    key: stored.key,
    variantKey: stored.variantKey,
    status: stored.status,
    headers,
    requestTime: times.requestTime,
    responseTime: times.responseTime,
    expiresAt: storeUntil(timed, options),
    tags: [...stored.tags],
  }
}

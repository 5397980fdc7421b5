// RFC 9111 shared-cache decisions as pure functions: the entry point the request path calls on
// lookup (`decide`), plus re-exports of the rules it is built from. No I/O, no clock: `now` is
// passed in (epoch ms).
import type { CacheOptions } from './cache-options.js'
import { requestCacheControl, type CacheControl } from './cache-control.js'
import { revalidationHeaders, updateStoredHeaders } from './conditional.js'
import { dateValue, type StoredTimes } from './freshness.js'
import { entryFacts, entryLifetime } from './entry-facts.js'
import type { HeaderSource } from './headers.js'
import { headersToStore, storeUntil, type RequestLike } from './storable.js'
import type { NewEntry } from './store.js'
import { variantKey, variantKeyOf } from './vary.js'

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
  if (entries.length === 1) return matchesVariant(entries[0]!, requestHeaders) ? entries[0] : undefined
  let best: E | undefined
  for (const e of entries) {
    if (!matchesVariant(e, requestHeaders)) continue
    if (!best || dateValue(e.headers, e.responseTime) > dateValue(best.headers, best.responseTime)) best = e
  }
  return best
}

/** `varyMatches`, with the stored response's Vary fields parsed once per entry. */
function matchesVariant(e: CachedResponse, requestHeaders: HeaderSource): boolean {
  const fields = entryFacts(e).vary
  if (fields === '*') return false
  return variantKeyOf(fields, requestHeaders) === e.variantKey
}

/**
 * The lookup decision for `req` given every stored variant of its primary key (§4, §4.2.4,
 * §5.2.1, §5.2.2, RFC 5861). `entries` may be undefined or empty on a store miss.
 * Facts about a stored entry (Cache-Control, Vary, initial age, lifetime) are parsed once per
 * frozen entry (entry-facts.ts): a hit costs the request's own Cache-Control and a few compares.
 */
export function decide<E extends CachedResponse>(
  req: RequestLike,
  entries: readonly E[] | undefined,
  now: number,
  options: CacheOptions = NO_OPTIONS,
): CacheDecision<E> {
  if (!isLookupMethod(req.method)) return { kind: 'miss', fwd: 'method' }
  const rcc = requestCacheControl(req.headers)
  const onlyIfCached = rcc.onlyIfCached === true
  if (!entries || entries.length === 0) return onlyIfCached ? ONLY_IF_CACHED : URI_MISS
  const entry = selectVariant(entries, req.headers)
  if (!entry) return onlyIfCached ? ONLY_IF_CACHED : VARY_MISS

  const facts = entryFacts(entry)
  const cc = facts.cc
  const lifetime = entryLifetime(entry, facts, options)
  const ageMs = facts.initialAge + Math.max(0, now - entry.responseTime) // current_age (§4.2.3)
  const ttlMs = lifetime - ageMs

  // Stale responses are off limits with these (§4.2.4, §5.2.2.2, §5.2.2.8, §5.2.2.10).
  const noStale = cc.noCache === true || cc.mustRevalidate === true || cc.proxyRevalidate === true || cc.sMaxAge !== undefined
  const staleness = Math.max(0, -ttlMs)

  // Unqualified no-cache: always revalidate (§5.2.2.4). A qualified no-cache="f" allows reuse
  // without the named fields, which `headersToStore` never stored in the first place.
  if (cc.noCache === true) return revalidate(entry, ageMs, ttlMs, onlyIfCached, 'stale', false)
  if (rcc !== NO_DIRECTIVES) {
    const sie = staleIfErrorAllowed(cc, rcc, options, noStale, staleness)
    if (!options.ignoreNoCache) {
      // Request directives (§5.2.1): the client can demand validation or a younger/fresher response.
      if (rcc.noCache !== undefined) return revalidate(entry, ageMs, ttlMs, onlyIfCached, 'request', sie)
      if (rcc.maxAge !== undefined && ageMs > rcc.maxAge * 1000) return revalidate(entry, ageMs, ttlMs, onlyIfCached, 'request', sie)
    }
    if (rcc.minFresh !== undefined && ttlMs < rcc.minFresh * 1000) return revalidate(entry, ageMs, ttlMs, onlyIfCached, 'request', sie)
  }
  if (ttlMs > 0) return { kind: 'fresh', entry, ageMs, ttlMs }

  if (!noStale) {
    if (rcc.maxStale !== undefined && staleness <= rcc.maxStale * 1000) return { kind: 'stale', entry, ageMs, ttlMs }
    const swr = cc.staleWhileRevalidate !== undefined ? cc.staleWhileRevalidate * 1000 : options.staleWhileRevalidate
    if (swr !== undefined && staleness <= swr) {
      return { kind: 'stale-while-revalidate', conditionalHeaders: revalidationHeaders(entry), entry, ageMs, ttlMs }
    }
  }
  return revalidate(entry, ageMs, ttlMs, onlyIfCached, 'stale', staleIfErrorAllowed(cc, rcc, options, noStale, staleness))
}

const NO_OPTIONS: CacheOptions = Object.freeze({})
const NO_DIRECTIVES = requestCacheControl({})
const ONLY_IF_CACHED = Object.freeze({ kind: 'only-if-cached' } as const)
const URI_MISS = Object.freeze({ kind: 'miss', fwd: 'uri-miss' } as const)
const VARY_MISS = Object.freeze({ kind: 'miss', fwd: 'vary-miss' } as const)

function revalidate<E>(
  entry: E & { readonly headers: HeaderSource }, ageMs: number, ttlMs: number, onlyIfCached: boolean,
  fwd: 'stale' | 'request', staleIfError: boolean,
): CacheDecision<E> {
  if (onlyIfCached) return ONLY_IF_CACHED
  return { kind: 'revalidate', fwd, conditionalHeaders: revalidationHeaders(entry), staleIfError, entry, ageMs, ttlMs }
}

/** Whether a stale-if-error window (response, request or route; RFC 5861 §4) covers `staleness`. */
function staleIfErrorAllowed(
  cc: Readonly<CacheControl>, rcc: Readonly<CacheControl>, options: CacheOptions, noStale: boolean, staleness: number,
): boolean {
  if (noStale) return false
  const window = Math.max(
    cc.staleIfError !== undefined ? cc.staleIfError * 1000 : -1,
    rcc.staleIfError !== undefined ? rcc.staleIfError * 1000 : -1,
    options.staleIfError ?? -1,
  )
  return staleness <= window
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

// Whether a shared cache may store a response (RFC 9111 §3, §3.5), which header fields it keeps
// (§3.1), and until when a store should keep it.
import type { CacheOptions } from './cache-options.js'
import { DEFAULT_KEEP_STALE_MS } from './cache-options.js'
import { responseCacheControl, requestCacheControl, type CacheControl } from './cache-control.js'
import { correctedInitialAge, freshnessLifetime, HEURISTIC_STATUSES, hasExplicitExpiration, type ResponseLike } from './freshness.js'
import { firstHeader, hasHeader, headerLines, splitList, toFieldList, type HeaderSource } from './headers.js'
import { varyFields } from './vary.js'

export interface RequestLike {
  readonly method: string
  readonly headers: HeaderSource
}

/**
 * Final status codes whose caching semantics this cache implements (for `must-understand`,
 * §5.2.2.3): the RFC 9110 registry minus 206 (no range support) and 304 (never stored).
 */
export const UNDERSTOOD_STATUSES: ReadonlySet<number> = new Set([
  200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 402, 403, 404, 405, 406,
  407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
])

/** Why a response is not stored; doubles as a Cache-Status `detail`. */
export type NotStorableReason =
  | 'method' | 'request-no-store' | 'status' | 'no-store' | 'private' | 'authorization'
  | 'set-cookie' | 'vary-star' | 'no-freshness' | 'too-large'

export type Storability = { storable: true } | { storable: false; reason: NotStorableReason }

const NOT = (reason: NotStorableReason): Storability => ({ storable: false, reason })

/** Fields with a validator usable for revalidation (§4.3.1). */
export function hasValidator(headers: HeaderSource): boolean {
  return hasHeader(headers, 'etag') || hasHeader(headers, 'last-modified')
}

/**
 * §3 for a shared cache, plus this cache's own limits (Set-Cookie, size, validator-less).
 * `responseTime` (ms) dates the response: a two-digit year in `Expires` is read relative to it.
 */
export function isStorable(req: RequestLike, res: ResponseLike, options: CacheOptions = {}, responseTime = Date.now()): Storability {
  const methods = options.methods ?? ['GET']
  if (!methods.includes(req.method.toUpperCase())) return NOT('method')
  if (requestCacheControl(req.headers).noStore === true) return NOT('request-no-store') // §5.2.1.5
  const cc = responseCacheControl(res.headers)
  const understood = UNDERSTOOD_STATUSES.has(res.status)
  // Final status only; 206/304 and must-understand responses need an understood status (§3).
  if (res.status < 200 || res.status > 999 || res.status === 206 || res.status === 304) return NOT('status')
  if (cc.mustUnderstand === true && !understood) return NOT('status')
  // must-understand on an understood status overrides no-store (§5.2.2.3).
  if (cc.noStore === true && !(cc.mustUnderstand === true && understood)) return NOT('no-store')
  if (cc.private === true) return NOT('private') // qualified private: store minus those fields
  if (hasHeader(req.headers, 'authorization') && !allowsAuthorized(cc)) return NOT('authorization')
  if (hasHeader(res.headers, 'set-cookie') && !options.allowSetCookie && !omitsField(cc, 'set-cookie')) {
    return NOT('set-cookie')
  }
  if (varyFields(res.headers) === '*') return NOT('vary-star') // §4.1: never reusable
  const length = Number(firstHeader(res.headers, 'content-length'))
  if (options.maxObjectSize !== undefined && Number.isFinite(length) && length > options.maxObjectSize) {
    return NOT('too-large')
  }
  const explicit = cc.public === true || cc.sMaxAge !== undefined || hasExplicitExpiration(res.headers, cc)
  // (the route's ttl only applies to heuristically cacheable statuses: it cannot help here)
  if (!explicit && !HEURISTIC_STATUSES.has(res.status)) return NOT('no-freshness')
  // Neither freshness nor a validator nor a stale window: it could never be reused.
  const { lifetime } = freshnessLifetime(res, responseTime, options, cc)
  if (lifetime <= 0 && !hasValidator(res.headers) && cc.staleIfError === undefined && options.staleIfError === undefined) {
    return NOT('no-freshness')
  }
  // no-cache means "always revalidate": useless without something to revalidate with.
  if (cc.noCache === true && !hasValidator(res.headers)) return NOT('no-freshness')
  return { storable: true }
}

/** §3.5: a response to an authorized request may be shared only with one of these. */
function allowsAuthorized(cc: CacheControl): boolean {
  return cc.public === true || cc.sMaxAge !== undefined || cc.mustRevalidate === true
}

function omitsField(cc: CacheControl, name: string): boolean {
  return (Array.isArray(cc.noCache) && cc.noCache.includes(name)) || (Array.isArray(cc.private) && cc.private.includes(name))
}

/** Hop-by-hop fields (RFC 9110 §7.6.1) and proxy-specific ones (RFC 9111 §3.1): never stored. */
export const UNSTORED_FIELDS: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer',
  'proxy-authenticate', 'proxy-authentication-info', 'proxy-authorization',
])

/** Lowercase names that must not be stored from these response headers (§3.1). */
export function excludedFields(headers: HeaderSource, cc = responseCacheControl(headers)): Set<string> {
  const out = new Set(UNSTORED_FIELDS)
  for (const line of headerLines(headers, 'connection')) for (const n of splitList(line)) out.add(n.toLowerCase())
  // no-cache="f" and private="f" name fields a shared cache must not store (§5.2.2.4, §5.2.2.7).
  if (Array.isArray(cc.noCache)) for (const n of cc.noCache) out.add(n)
  if (Array.isArray(cc.private)) for (const n of cc.private) out.add(n)
  return out
}

/** The response's header lines to store, in order, without the excluded fields (§3.1). */
export function headersToStore(headers: HeaderSource): [string, string][] {
  const excluded = excludedFields(headers)
  return toFieldList(headers).filter(([n]) => !excluded.has(n.toLowerCase()))
}

/**
 * When a store may drop the entry (epoch ms): end of freshness, plus the longest stale window,
 * plus, for entries with a validator, `keepStaleForRevalidation` so they can still be revalidated
 * with a conditional request. Infinity never happens: lifetimes are capped at 2^31 s.
 */
export function storeUntil(res: ResponseLike & { requestTime: number; responseTime: number }, options: CacheOptions = {}): number {
  const cc = responseCacheControl(res.headers)
  const { lifetime } = freshnessLifetime(res, res.responseTime, options, cc)
  const freshFor = Math.max(0, lifetime - correctedInitialAge(res))
  const swr = cc.staleWhileRevalidate !== undefined ? cc.staleWhileRevalidate * 1000 : options.staleWhileRevalidate ?? 0
  const sie = cc.staleIfError !== undefined ? cc.staleIfError * 1000 : options.staleIfError ?? 0
  const keep = hasValidator(res.headers) ? options.keepStaleForRevalidation ?? DEFAULT_KEEP_STALE_MS : 0
  return res.responseTime + freshFor + Math.max(swr, sie, keep)
}

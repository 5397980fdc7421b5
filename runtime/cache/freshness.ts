// Freshness lifetime (RFC 9111 §4.2.1, §4.2.2) and age (§4.2.3). All times are epoch ms passed
// in by the caller; nothing here reads the clock.
import { responseCacheControl, MAX_DELTA_SECONDS, type CacheControl } from './cache-control.js'
import { firstHeader, type HeaderSource } from './headers.js'
import { parseHttpDate } from './http-date.js'

/** Status codes heuristically cacheable by default (RFC 9110 §15.1). */
export const HEURISTIC_STATUSES: ReadonlySet<number> = new Set([
  200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501,
])

/** Default cap on a heuristic lifetime: one day (a common cache default; RFC leaves it open). */
export const DEFAULT_HEURISTIC_MAX_MS = 24 * 60 * 60 * 1000
/** The "typical" fraction of (Date − Last-Modified) from §4.2.2. */
export const DEFAULT_HEURISTIC_FRACTION = 0.1

export interface FreshnessOptions {
  /**
   * Route-configured lifetime (ms) for responses with no explicit expiration and a heuristically
   * cacheable status (HEURISTIC_STATUSES); replaces heuristics. Never for other statuses: an
   * error page or a 302 is not kept for a route's ttl.
   */
  ttl?: number
  heuristicFraction?: number
  heuristicMaxMs?: number
}

export interface ResponseLike {
  readonly status: number
  readonly headers: HeaderSource
}

export type FreshnessSource = 's-maxage' | 'max-age' | 'expires' | 'ttl' | 'heuristic' | 'none'

export interface Freshness {
  /** Freshness lifetime in ms (0 = stale on arrival). */
  lifetime: number
  source: FreshnessSource
}

/** The Date header, or the response time when absent or invalid (RFC 9110 §6.6.1). */
export function dateValue(headers: HeaderSource, responseTime: number): number {
  return parseHttpDate(firstHeader(headers, 'date'), responseTime) ?? responseTime
}

/** Whether the response carries an explicit expiration time (s-maxage, max-age or Expires). */
export function hasExplicitExpiration(headers: HeaderSource, cc = responseCacheControl(headers)): boolean {
  return cc.sMaxAge !== undefined || cc.maxAge !== undefined || (cc.targeted !== true && firstHeader(headers, 'expires') !== undefined)
}

/** §4.2.1 for a shared cache: s-maxage > max-age > Expires − Date > route ttl (heuristic statuses) > heuristic. */
export function freshnessLifetime(
  res: ResponseLike,
  responseTime: number,
  options: FreshnessOptions = {},
  cc: CacheControl = responseCacheControl(res.headers),
): Freshness {
  if (cc.sMaxAge !== undefined) return { lifetime: cc.sMaxAge * 1000, source: 's-maxage' }
  if (cc.maxAge !== undefined) return { lifetime: cc.maxAge * 1000, source: 'max-age' }
  // (a targeted field's directives replace Expires too: RFC 9213 §2.2)
  const expires = cc.targeted === true ? undefined : firstHeader(res.headers, 'expires')
  if (expires !== undefined) {
    // An invalid date (e.g. "0") means already expired (§5.3).
    const at = parseHttpDate(expires, responseTime)
    const lifetime = at === undefined ? 0 : Math.max(0, at - dateValue(res.headers, responseTime))
    return { lifetime, source: 'expires' }
  }
  const heuristicStatus = HEURISTIC_STATUSES.has(res.status)
  if (options.ttl !== undefined && heuristicStatus) return { lifetime: Math.max(0, options.ttl), source: 'ttl' }
  // §4.2.2: heuristics only for heuristically cacheable statuses or `public` responses.
  if (heuristicStatus || cc.public === true) {
    const lastModified = parseHttpDate(firstHeader(res.headers, 'last-modified'), responseTime)
    if (lastModified !== undefined) {
      const interval = dateValue(res.headers, responseTime) - lastModified
      if (interval > 0) {
        const fraction = options.heuristicFraction ?? DEFAULT_HEURISTIC_FRACTION
        const cap = options.heuristicMaxMs ?? DEFAULT_HEURISTIC_MAX_MS
        return { lifetime: Math.min(Math.floor(interval * fraction), cap), source: 'heuristic' }
      }
    }
  }
  return { lifetime: 0, source: 'none' }
}

/** The Age header's value in ms; 0 when absent or not a non-negative integer. */
export function ageValue(headers: HeaderSource): number {
  // §5.1: of a list (`Age: 7200, 0`), the first member counts.
  const line = firstHeader(headers, 'age')
  const comma = line === undefined ? -1 : line.indexOf(',')
  const raw = (comma < 0 ? line : line!.slice(0, comma))?.trim()
  if (raw === undefined || !/^[0-9]+$/.test(raw)) return 0
  return Math.min(Number(raw), MAX_DELTA_SECONDS) * 1000
}

export interface StoredTimes {
  readonly headers: HeaderSource
  /** When the request that produced the stored response was sent (ms). */
  readonly requestTime: number
  /** When the response was received (ms). */
  readonly responseTime: number
}

/** corrected_initial_age (§4.2.3): the age the response already had when it arrived. */
export function correctedInitialAge(s: StoredTimes): number {
  const apparentAge = Math.max(0, s.responseTime - dateValue(s.headers, s.responseTime))
  const responseDelay = Math.max(0, s.responseTime - s.requestTime)
  const correctedAgeValue = ageValue(s.headers) + responseDelay
  return Math.max(apparentAge, correctedAgeValue)
}

/** current_age (§4.2.3) in ms at `now`. */
export function currentAge(s: StoredTimes, now: number): number {
  const residentTime = Math.max(0, now - s.responseTime)
  return correctedInitialAge(s) + residentTime
}

/** The Age header value to send: whole seconds, capped at 2^31 (§5.1, §1.2.2). */
export function ageHeaderValue(ageMs: number): string {
  return String(Math.min(Math.max(0, Math.floor(ageMs / 1000)), MAX_DELTA_SECONDS))
}

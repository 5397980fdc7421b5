// Per-route cache options, as the policy functions see them. Durations are ms, sizes bytes.
import type { FreshnessOptions } from './freshness.js'

export interface CacheOptions extends FreshnessOptions {
  /**
   * Freshness lifetime (ms) for responses that carry no explicit expiration (no s-maxage,
   * max-age or Expires) and have a heuristically cacheable status (200, 301, 404, …; see
   * HEURISTIC_STATUSES). Like nginx `proxy_cache_valid`: it never overrides the origin's own
   * explicit freshness, no-store, private or Vary: *; it replaces heuristic freshness, and makes
   * such responses storable that would otherwise have no freshness and no validator.
   */
  ttl?: number
  /**
   * Ignore the client's `Cache-Control: no-cache` / `max-age` / `Pragma: no-cache` when looking
   * up (a CDN-style origin shield against forced reloads). Response `no-cache` is always honoured.
   */
  ignoreNoCache?: boolean
  /** Store responses carrying Set-Cookie (default false: they are passed through, not stored). */
  allowSetCookie?: boolean
  /** Methods whose responses may be stored (default ['GET']). HEAD is served from a stored GET. */
  methods?: readonly string[]
  /** Largest body (bytes) worth storing; a larger Content-Length is refused up front. */
  maxObjectSize?: number
  /** Default stale-while-revalidate window (ms) when the response has none (RFC 5861). */
  staleWhileRevalidate?: number
  /** Default stale-if-error window (ms) when neither response nor request has one (RFC 5861). */
  staleIfError?: number
  /**
   * How long (ms) a stale entry that has a validator is kept for conditional revalidation after
   * its stale windows end (default 1 hour). Entries without a validator are dropped at once.
   */
  keepStaleForRevalidation?: number
}

export const DEFAULT_KEEP_STALE_MS = 60 * 60 * 1000

// The default primary cache key (RFC 9111 §2): method + target URI. HEAD shares the GET key so
// a stored GET answers HEAD (RFC 9110 §9.3.2). The path must already be canonical (runtime's one
// canonicalization function), so equivalent targets share a key.
import { canonicalize } from '../canonical.js'
import { memoize } from './memo.js'

export interface CacheKeyParts {
  method: string
  /** 'http' or 'https'. */
  scheme: string
  /** Host name, optionally with ':port' (a Host header value works). */
  host: string
  /** Explicit port; defaults to the one in `host`, else the scheme's default. */
  port?: number | string
  /** Canonical path, starting with '/'. */
  path: string
  /** Query without '?', '' or undefined when none. */
  query?: string
}

const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443' }

function splitHostPort(host: string): [string, string | undefined] {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host)
  if (!m) return [host, undefined]
  return [m[1]!, m[2] === '' ? undefined : m[2]]
}

/** e.g. `GET https://example.com:443/a/b?x=1`. */
export function defaultCacheKey(p: CacheKeyParts): string {
  const method = p.method.toUpperCase() === 'HEAD' ? 'GET' : p.method.toUpperCase()
  return `${keyOrigin(method, p.scheme, p.host, p.port)}${p.path || '/'}${p.query ? `?${p.query}` : ''}`
}

/** `GET http://host:port`: the part of a key before the path. */
function keyOrigin(method: string, rawScheme: string, rawHost: string, rawPort: number | string | undefined): string {
  const scheme = rawScheme.toLowerCase().replace(/:$/, '')
  const [name, hostPort] = splitHostPort(rawHost.trim().toLowerCase())
  const host = name.endsWith('.') ? name.slice(0, -1) : name
  const port = String(rawPort ?? hostPort ?? DEFAULT_PORTS[scheme] ?? '')
  return `${method} ${scheme}://${host}:${port}`
}

const httpGetOrigin = memoize(256, (host: string) => keyOrigin('GET', 'http', host, undefined))
const httpsGetOrigin = memoize(256, (host: string) => keyOrigin('GET', 'https', host, undefined))

/**
 * `defaultCacheKey` of a GET (or HEAD) with this scheme (https only behind a trusted proxy that
 * says so) and Host header value: what the proxy computes for every request on a caching route,
 * with the per-host part parsed once per host.
 */
export function httpGetKey(host: string, path: string, query: string, scheme: 'http' | 'https' = 'http'): string {
  return `${(scheme === 'http' ? httpGetOrigin : httpsGetOrigin)(host)}${path || '/'}${query ? `?${query}` : ''}`
}

/**
 * The path-and-query part of a default key (`/a/b?x=1` from `GET http://h:80/a/b?x=1`), or
 * undefined for a key of another shape (a route's own `key` function).
 */
export function keyPath(key: string): string | undefined {
  const sep = key.indexOf('://')
  const space = key.indexOf(' ')
  if (sep < 0 || space < 0 || space > sep) return undefined
  const slash = key.indexOf('/', sep + 3)
  return slash < 0 ? undefined : key.slice(slash)
}

/** Path and query of an absolute URL as written (fragment left out). */
const URL_TARGET = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^#]*)/

/**
 * The key of an absolute URL (purges by URL). Its path and query are taken as written and
 * canonicalized like a request target, so the key is the one a request for that URL is looked
 * up with (WHATWG URL would percent-encode `"` `'` `<` `>` in a query, which request targets
 * keep as sent). Throws for a URL no request target could match (BadTargetError).
 */
export function cacheKeyForUrl(method: string, url: string | URL): string {
  const href = typeof url === 'string' ? url.trim() : url.href
  const u = new URL(href)
  const scheme = u.protocol.slice(0, -1)
  const raw = URL_TARGET.exec(href)?.[1] ?? `${u.pathname}${u.search}`
  const target = canonicalize(raw.startsWith('/') ? raw : `/${raw}`)
  return defaultCacheKey({
    method,
    scheme,
    host: u.hostname,
    port: u.port || DEFAULT_PORTS[scheme] || '',
    path: target.path,
    query: target.query,
  })
}

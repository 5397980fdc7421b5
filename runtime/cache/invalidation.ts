// Invalidation after unsafe requests (RFC 9111 §4.4).
import { firstHeader, type HeaderSource } from './headers.js'

/** Safe methods (RFC 9110 §9.2.1); every other method, known or not, is treated as unsafe. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export function isUnsafeMethod(method: string): boolean {
  return !SAFE.has(method.toUpperCase())
}

function resolve(ref: string | undefined, base: URL): URL | undefined {
  if (ref === undefined) return undefined
  try {
    return new URL(ref.trim(), base)
  } catch {
    return undefined
  }
}

/**
 * The absolute URIs to invalidate after an unsafe request got a non-error (2xx/3xx) response:
 * the target URI, plus Location and Content-Location when they share its origin (never another
 * origin's, to prevent cache-busting denial of service). Fragments are dropped. Map each URI to
 * cache keys with `cacheKeyForUrl` (GET; HEAD shares that key).
 */
export function invalidationUris(
  req: { readonly method: string; readonly url: string },
  res: { readonly status: number; readonly headers: HeaderSource },
): string[] {
  if (!isUnsafeMethod(req.method) || res.status < 200 || res.status > 399) return []
  const target = resolve(req.url, new URL('http://invalid.invalid/'))
  if (!target) return []
  target.hash = ''
  const out = new Set([target.href])
  for (const name of ['location', 'content-location']) {
    const u = resolve(firstHeader(res.headers, name), target)
    if (u && u.origin === target.origin) {
      u.hash = ''
      out.add(u.href)
    }
  }
  return [...out]
}

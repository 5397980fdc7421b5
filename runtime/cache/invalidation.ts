// Invalidation after unsafe requests (RFC 9111 §4.4).
import { firstHeader, type HeaderSource } from './headers.js'

/** Safe methods (RFC 9110 §9.2.1); every other method, known or not, is treated as unsafe. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export function isUnsafeMethod(method: string): boolean {
  return !SAFE.has(method.toUpperCase())
}

/** The request an unsafe method was sent to: scheme, Host, and its path and query (no '?'). */
export interface InvalidatedRequest {
  readonly scheme: string
  readonly host: string
  readonly path: string
  readonly query: string
}

/** RFC 3986 Appendix B: scheme, authority, path, query (the fragment is left out). */
const REFERENCE = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?/

/**
 * Besides the target URI, what a successful (2xx/3xx) unsafe request invalidates: the Location
 * and Content-Location of its response, when they share its origin (never another origin's, to
 * prevent cache-busting denial of service). Each comes back as an origin-form target
 * (`/path?query`), resolved against the request (RFC 3986 §5.2) on its raw text — WHATWG URL
 * would percent-encode `"` `'` `<` `>` in a query, which request targets keep as sent — for the
 * caller to canonicalize like a request target and key like a lookup.
 */
export function invalidationReferences(req: InvalidatedRequest, headers: HeaderSource): string[] {
  const out: string[] = []
  for (const name of ['location', 'content-location']) {
    const ref = firstHeader(headers, name)
    const target = ref === undefined ? undefined : resolveSameOrigin(ref.trim(), req)
    if (target !== undefined && !out.includes(target)) out.push(target)
  }
  return out
}

function resolveSameOrigin(ref: string, base: InvalidatedRequest): string | undefined {
  const [, scheme, authority, path = '', query] = REFERENCE.exec(ref)!
  if (scheme !== undefined || authority !== undefined) {
    // Absolute (or network-path) reference: only for the request's own origin.
    if (authority === undefined) return undefined
    const theirs = originOf(scheme ?? base.scheme, authority)
    if (theirs === undefined || theirs !== originOf(base.scheme, base.host)) return undefined
    return originForm(path === '' ? '/' : path, query)
  }
  if (path === '') return originForm(base.path, query ?? base.query)
  if (path.startsWith('/')) return originForm(path, query)
  // A relative path: merged with the request's directory (§5.2.3); canonicalize removes dot segments.
  return originForm(base.path.slice(0, base.path.lastIndexOf('/') + 1) + path, query)
}

function originForm(path: string, query: string | undefined): string {
  return query ? `${path}?${query}` : path
}

/** `http://host:port` normalised (case, default port), or undefined for a non-HTTP or malformed origin. */
function originOf(scheme: string, authority: string): string | undefined {
  try {
    const u = new URL(`${scheme}://${authority}/`)
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined
  } catch {
    return undefined
  }
}

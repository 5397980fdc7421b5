/**
 * The one canonicalization of the request target. Its output feeds routing, access rules,
 * the cache key and the path sent upstream, so all of them agree on what was asked for
 * (a router that sees `/a/../admin` while the upstream sees `/admin` is a bypass).
 *
 * Rules: origin-form (or absolute-form, whose authority then wins over Host) only; no
 * fragment; percent-escapes must be valid; escapes of unreserved characters are decoded
 * (`%7E` → `~`, `%2e` → `.`), other escapes get uppercase hex (`%2f` → `%2F`, still not a
 * separator); bytes ≥ 0x80 are percent-encoded; repeated slashes merged (as nginx); dot
 * segments removed (RFC 3986 §5.2.4). The query is passed through unchanged.
 *
 * Rejected (400), because a backend may read them differently from the router: `%00`
 * (nginx rejects it too), a dot segment hidden behind an encoded separator (`..%2F`,
 * `..%5C`: a backend that decodes them climbs where the router never looked) and a dot
 * segment with a path parameter (`..;/`, read as `..` by Tomcat and friends).
 */

export interface CanonicalTarget {
  path: string
  /** Query without the `?`; '' when absent. */
  query: string
  /** Authority from an absolute-form target, lowercased; undefined for origin-form. */
  authority?: string
}

export class BadTargetError extends Error {}

/**
 * Host (or absolute-form authority) syntax: dot-separated labels of letters, digits and
 * `-_~` (no empty label), or a bracketed IP literal, then an optional numeric port; no
 * userinfo, no path, no spaces or other delimiters. '' is allowed (RFC 9112 §3.2: a target
 * without an authority).
 */
const HOST = /^(?:[A-Za-z0-9\-_~]+(?:\.[A-Za-z0-9\-_~]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/

export function isValidHost(value: string): boolean {
  return value === '' || HOST.test(value)
}

/**
 * A valid host with the trailing dot of a fully qualified name removed (`a.example.:80` →
 * `a.example:80`), as nginx does, so `Host: admin.example.` cannot slip past a route for
 * `admin.example`. Returns the value itself when there is none.
 */
export function withoutTrailingDot(host: string): string {
  if (host.charCodeAt(0) === 91 /* [ */) return host
  const colon = host.indexOf(':')
  const end = colon < 0 ? host.length : colon
  return host.charCodeAt(end - 1) === 46 ? host.slice(0, end - 1) + host.slice(end) : host
}

const UNRESERVED = /[A-Za-z0-9\-._~]/
/** Characters allowed raw in a path: pchar minus '%' (checked separately) plus '/'. */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]{}|\\^`"<> ]*$/

export function canonicalize(target: string): CanonicalTarget {
  let authority: string | undefined
  if (target.charCodeAt(0) !== 47 /* / */) {
    const m = /^https?:\/\/([^/?#@]+)(.*)$/i.exec(target)
    if (!m) throw new BadTargetError('request target must be a path (origin-form) or an absolute http URL')
    authority = m[1]!.toLowerCase()
    if (authority === '' || !HOST.test(authority)) throw new BadTargetError('invalid authority in request target')
    authority = withoutTrailingDot(authority)
    target = m[2] === '' ? '/' : m[2]!
    if (target.charCodeAt(0) !== 47) throw new BadTargetError('invalid request target')
  }
  const q = target.indexOf('?')
  const rawPath = q < 0 ? target : target.slice(0, q)
  const query = q < 0 ? '' : target.slice(q + 1)
  if (query !== '' && !QUERY_CHARS.test(query)) throw new BadTargetError('invalid character in query')
  const path = isCanonical(rawPath) ? rawPath : canonicalPath(rawPath)
  return authority === undefined ? { path, query } : { path, query, authority }
}

/** Fast check for the common case: plain characters, no escapes, no dot segments, no '//'. */
function isCanonical(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    if (c === 47) {
      const next = path.charCodeAt(i + 1)
      if (next === 47 || next === 46) return false
      continue
    }
    const plain = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 126
    if (!plain) return false
  }
  return true
}

function canonicalPath(raw: string): string {
  let encoded = ''
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    encoded += c >= 0x80 ? `%${c.toString(16).toUpperCase().padStart(2, '0')}` : raw[i]
  }
  if (!PATH_CHARS.test(encoded)) throw new BadTargetError('invalid character in path')
  let decoded = ''
  for (let i = 0; i < encoded.length; i++) {
    const ch = encoded[i]!
    if (ch !== '%') {
      decoded += ch
      continue
    }
    const hex = encoded.slice(i + 1, i + 3)
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new BadTargetError('invalid percent-encoding in path')
    const code = parseInt(hex, 16)
    if (code === 0) throw new BadTargetError('NUL (%00) in path')
    const byte = String.fromCharCode(code)
    decoded += UNRESERVED.test(byte) ? byte : `%${hex.toUpperCase()}`
    i += 2
  }
  const path = removeDotSegments(decoded.replace(/\/{2,}/g, '/'))
  if (path.includes('%2F') || path.includes('%5C')) {
    // Would a backend that decodes %2F / %5C as separators see a dot segment?
    for (const s of path.split(/\/|%2F|%5C/)) {
      if (s === '.' || s === '..') throw new BadTargetError('dot segment behind an encoded slash in path')
    }
  }
  return path
}

function removeDotSegments(path: string): string {
  const out: string[] = []
  const segments = path.split('/')
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i]!
    if (s.charCodeAt(0) === 46 && (s.startsWith('.;') || s.startsWith('..;'))) throw new BadTargetError('dot segment with a path parameter')
    if (s === '..') out.pop()
    else if (s !== '.') out.push(s)
  }
  const last = segments[segments.length - 1]
  const trailing = (last === '.' || last === '..') && out[out.length - 1] !== '' ? '/' : ''
  return `/${out.join('/')}${trailing}`
}

// Validation: conditional requests the cache sends (RFC 9111 §4.3.1), 304 handling (§4.3.3,
// §4.3.4, §3.2), and client conditionals answered from a stored response (§4.3.2, RFC 9110 §13).
import { excludedFields } from './storable.js'
import { firstHeader, headerValue, splitList, toFieldList, type HeaderSource } from './headers.js'
import { parseHttpDate } from './http-date.js'
import { dateValue } from './freshness.js'

export interface EntityTag {
  weak: boolean
  /** The opaque-tag, quotes included. */
  opaque: string
}

const ETAG = /^([Ww]\/)?("[^"]*")$/
const BARE = /^[^\s",]+$/

/**
 * Parses an entity-tag (RFC 9110 §8.8.3). Lenient like common servers: a lowercase `w/` is weak,
 * and a bare unquoted value is read as that value quoted (so `abcdef` equals `"abcdef"`).
 */
export function parseEntityTag(value: string | undefined): EntityTag | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  const m = ETAG.exec(v)
  if (m) return { weak: m[1] !== undefined, opaque: m[2]! }
  return BARE.test(v) ? { weak: false, opaque: `"${v}"` } : undefined
}

/** The entity-tag serialised canonically: `"x"` or `W/"x"`. */
export function formatEntityTag(tag: EntityTag): string {
  return tag.weak ? `W/${tag.opaque}` : tag.opaque
}

/** If-None-Match / If-Match members: '*' or the entity-tags (malformed members skipped). */
export function parseEntityTagList(value: string): EntityTag[] | '*' {
  if (value.trim() === '*') return '*'
  const out: EntityTag[] = []
  for (const m of splitList(value)) {
    const tag = parseEntityTag(m)
    if (tag) out.push(tag)
  }
  return out
}

/** RFC 9110 §8.8.3.2 weak comparison: opaque tags equal, weakness ignored. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque
}

/** Strong comparison: both strong and equal. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque
}

/**
 * Headers for revalidating a stored response (§4.3.1): If-None-Match with its ETag, and
 * If-Modified-Since with its Last-Modified. The client's precondition fields are not sent with
 * them (PRECONDITION_FIELDS); its own conditional is answered from the refreshed entry.
 */
export function revalidationHeaders(stored: { readonly headers: HeaderSource }): Record<string, string> {
  const out: Record<string, string> = {}
  const etag = parseEntityTag(firstHeader(stored.headers, 'etag'))
  if (etag) out['if-none-match'] = formatEntityTag(etag)
  const lastModified = firstHeader(stored.headers, 'last-modified')
  if (parseHttpDate(lastModified) !== undefined) out['if-modified-since'] = lastModified!.trim()
  return out
}

interface Validatable {
  readonly headers: HeaderSource
  readonly responseTime: number
}

/**
 * Which stored responses a 304 freshens (§4.3.4):
 * - a strong ETag selects every stored response with that strong ETag (none → no update);
 * - a weak ETag (or only Last-Modified) selects the most recent stored response matching it;
 * - no validator: the response being validated, when it is the only one (§4.3.4 asks that it
 *   lack validators too; like browsers and undici we also accept a validator-less 304 for the
 *   single response we asked about, because many origins omit ETag from 304s).
 */
export function selectForUpdate<E extends Validatable>(entries: readonly E[], notModified: HeaderSource, validated?: E): E[] {
  const tag = parseEntityTag(firstHeader(notModified, 'etag'))
  if (tag && !tag.weak) {
    return entries.filter((e) => {
      const t = parseEntityTag(firstHeader(e.headers, 'etag'))
      return t !== undefined && strongMatch(t, tag)
    })
  }
  const lm = parseHttpDate(firstHeader(notModified, 'last-modified'))
  if (tag || lm !== undefined) {
    const matching = entries.filter((e) => {
      if (tag) {
        const t = parseEntityTag(firstHeader(e.headers, 'etag'))
        return t !== undefined && weakMatch(t, tag)
      }
      return parseHttpDate(firstHeader(e.headers, 'last-modified')) === lm
    })
    return mostRecent(matching)
  }
  if (validated !== undefined && entries.length <= 1) return [validated]
  return entries.length === 1 ? [entries[0]!] : []
}

function mostRecent<E extends Validatable>(entries: readonly E[]): E[] {
  let best: E | undefined
  for (const e of entries) {
    if (!best || dateValue(e.headers, e.responseTime) > dateValue(best.headers, best.responseTime)) best = e
  }
  return best ? [best] : []
}

/** Fields a 304 never updates in a stored response (§3.2): framing, and what the stored body depends on. */
const NOT_UPDATED = new Set(['content-length', 'content-range', 'content-encoding'])

/**
 * §3.2: each field in the 304 replaces the stored lines of that name, except fields never stored
 * (§3.1), Content-Length, Content-Range, Content-Encoding (the stored bytes depend on it) and
 * Set-Cookie unless the route allows storing it.
 */
export function updateStoredHeaders(
  stored: HeaderSource,
  notModified: HeaderSource,
  options: { allowSetCookie?: boolean } = {},
): [string, string][] {
  const excluded = excludedFields(notModified)
  for (const n of NOT_UPDATED) excluded.add(n)
  if (!options.allowSetCookie) excluded.add('set-cookie')
  const incoming = toFieldList(notModified).filter(([n]) => !excluded.has(n.toLowerCase()))
  const replaced = new Set(incoming.map(([n]) => n.toLowerCase()))
  return [...toFieldList(stored).filter(([n]) => !replaced.has(n.toLowerCase())), ...incoming]
}

/**
 * The precondition fields of a request (RFC 9110 §13.1). The cache never forwards a client's
 * If-None-Match / If-Modified-Since on its own GETs (a miss, a revalidation, a background
 * refresh): the answer would be a 304 it cannot store. It asks for the full response and answers
 * the client's conditional itself (`isNotModified`), as nginx does. A request with If-Match or
 * If-Unmodified-Since never reaches the cache's own requests: those are for the origin (RFC 9111
 * §4.3.2), and the request goes there as it is.
 */
export const PRECONDITION_FIELDS: readonly string[] = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since']

/**
 * Whether a client's conditional GET/HEAD can be answered 304 from this stored response
 * (§4.3.2; RFC 9110 §13.1.2, §13.1.3, §13.2.2): If-None-Match with weak comparison takes
 * precedence; If-Modified-Since only without it, compared with Last-Modified, else Date, else
 * the time the response was received.
 */
export function isNotModified(
  req: { readonly method: string; readonly headers: HeaderSource },
  stored: { readonly status: number; readonly headers: HeaderSource; readonly responseTime: number },
): boolean {
  const method = req.method.toUpperCase()
  if (method !== 'GET' && method !== 'HEAD') return false
  if (stored.status < 200 || stored.status > 299) return false // §13.2.1
  const inm = headerValue(req.headers, 'if-none-match')
  if (inm !== undefined) {
    const tags = parseEntityTagList(inm)
    if (tags === '*') return true
    const own = parseEntityTag(firstHeader(stored.headers, 'etag'))
    return own !== undefined && tags.some((t) => weakMatch(t, own))
  }
  const ims = parseHttpDate(firstHeader(req.headers, 'if-modified-since'))
  if (ims === undefined) return false
  const lastModified =
    parseHttpDate(firstHeader(stored.headers, 'last-modified')) ?? dateValue(stored.headers, stored.responseTime)
  return lastModified <= ims
}

const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary']

/**
 * Header lines for a 304 built from a stored response (RFC 9110 §15.4.5): the fields a 200 would
 * carry among Cache-Control, Content-Location, Date, ETag, Expires, Vary; Last-Modified only when
 * there is no ETag. The caller adds Age and Cache-Status.
 */
export function notModifiedHeaders(stored: HeaderSource): [string, string][] {
  const lines = toFieldList(stored)
  const hasEtag = lines.some(([n]) => n.toLowerCase() === 'etag')
  return lines.filter(([n]) => {
    const l = n.toLowerCase()
    return NOT_MODIFIED_FIELDS.includes(l) || (l === 'last-modified' && !hasEtag)
  })
}

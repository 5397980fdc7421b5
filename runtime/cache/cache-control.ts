// Cache-Control parsing (RFC 9111 §5.2) for requests and responses, plus RFC 5861 extensions.
// - Directive names are case-insensitive; unknown directives are ignored (§5.2.3).
// - Arguments may be tokens or quoted strings, whatever the directive prefers (§5.2).
// - Duplicates: the first occurrence wins (§4.2.1 allows "first occurrence" or "stale").
// - Invalid delta-seconds: max-age / s-maxage become 0, i.e. stale (§4.2.1 "encouraged to consider
//   responses that have invalid freshness information to be stale"); other numeric ones are ignored.
// - Restrictive directives (no-store, no-cache, private) apply even when their syntax is broken.
// - Targeted fields (RFC 9213): a response's `CDN-Cache-Control`, else its `Surrogate-Control`,
//   when valid, replaces its Cache-Control (and Expires) for this cache.
import { headerLines, headerValue, isToken, splitList, type HeaderSource } from './headers.js'
import { memoize } from './memo.js'
import { parseDictionary } from './structured-dictionary.js'

/** delta-seconds cap (RFC 9111 §1.2.2): 2^31. */
export const MAX_DELTA_SECONDS = 2147483648

export interface CacheControl {
  /** Seconds. */
  maxAge?: number
  /** Seconds; shared caches only. */
  sMaxAge?: number
  /** Seconds; `Infinity` when given without a value (request: any staleness). */
  maxStale?: number
  minFresh?: number
  /** RFC 5861, seconds. */
  staleWhileRevalidate?: number
  staleIfError?: number
  /** `true` when unqualified; the lowercase field names when qualified (`no-cache="set-cookie"`). */
  noCache?: true | readonly string[]
  private?: true | readonly string[]
  noStore?: boolean
  public?: boolean
  mustRevalidate?: boolean
  proxyRevalidate?: boolean
  mustUnderstand?: boolean
  onlyIfCached?: boolean
  immutable?: boolean
  noTransform?: boolean
  /** Read from CDN-Cache-Control or Surrogate-Control: the response's Cache-Control and Expires do not apply (RFC 9213 §2.2). */
  targeted?: boolean
}

type NumericName = 'maxAge' | 'sMaxAge' | 'maxStale' | 'minFresh' | 'staleWhileRevalidate' | 'staleIfError'
type FlagName = 'noStore' | 'public' | 'mustRevalidate' | 'proxyRevalidate' | 'mustUnderstand' | 'onlyIfCached' | 'immutable' | 'noTransform'

const NUMERIC: Record<string, NumericName> = {
  'max-age': 'maxAge', 's-maxage': 'sMaxAge', 'max-stale': 'maxStale', 'min-fresh': 'minFresh',
  'stale-while-revalidate': 'staleWhileRevalidate', 'stale-if-error': 'staleIfError',
}
const FLAGS: Record<string, FlagName> = {
  'no-store': 'noStore', public: 'public', 'must-revalidate': 'mustRevalidate',
  'proxy-revalidate': 'proxyRevalidate', 'must-understand': 'mustUnderstand',
  'only-if-cached': 'onlyIfCached', immutable: 'immutable', 'no-transform': 'noTransform',
}
/** Flags whose presence only makes a cache more careful: honoured even with a stray argument. */
const RESTRICTIVE_FLAGS = new Set<FlagName>(['noStore', 'mustRevalidate', 'proxyRevalidate'])

interface Directive { name: string; value: string | undefined; valid: boolean }

function unquote(raw: string): { value: string; valid: boolean } {
  if (!raw.startsWith('"')) return { value: raw, valid: isToken(raw) }
  let out = ''
  for (let i = 1; i < raw.length; i++) {
    const c = raw[i]!
    if (c === '\\' && i + 1 < raw.length) out += raw[++i]
    else if (c === '"') return { value: out, valid: i === raw.length - 1 }
    else out += c
  }
  return { value: out, valid: false } // unterminated quote
}

function split(value: string): Directive[] {
  const out: Directive[] = []
  for (const part of splitList(value)) {
    const eq = part.indexOf('=')
    if (eq === -1) {
      const name = part.trim().toLowerCase()
      if (name) out.push({ name, value: undefined, valid: isToken(name) })
      continue
    }
    const rawName = part.slice(0, eq)
    const rawValue = part.slice(eq + 1)
    const name = rawName.trim().toLowerCase()
    // No whitespace is allowed around "=" (RFC 9111 §5.2 grammar): such a directive is invalid.
    const spaced = rawName !== rawName.trimEnd() || rawValue !== rawValue.trimStart()
    const { value, valid } = unquote(rawValue.trim())
    out.push({ name, value, valid: valid && !spaced && isToken(name) })
  }
  return out
}

function parseDelta(d: Directive): number | undefined {
  if (!d.valid || d.value === undefined || !/^[0-9]+$/.test(d.value)) return undefined
  return Math.min(Number(d.value), MAX_DELTA_SECONDS)
}

function fieldList(value: string | undefined): readonly string[] | true {
  if (value === undefined || value.trim() === '') return true
  const names = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '')
  return names.length > 0 && names.every(isToken) ? names : true
}

const EMPTY: Readonly<CacheControl> = Object.freeze({})
const parseMemo = memoize(512, parse)

/**
 * Parses one or more Cache-Control field values (already combined or as separate lines).
 * Results are shared between calls (memoized): treat them as read-only.
 */
export function parseCacheControl(value: string | readonly string[] | undefined): Readonly<CacheControl> {
  if (value === undefined) return EMPTY
  const joined = typeof value === 'string' ? value : value.join(',')
  return joined === '' ? EMPTY : parseMemo(joined)
}

function parse(value: string): CacheControl {
  const cc: CacheControl = {}
  const seen = new Set<string>()
  for (const d of split(value)) {
    const numeric = NUMERIC[d.name]
    if (numeric !== undefined) {
      if (seen.has(d.name)) continue // first occurrence wins
      seen.add(d.name)
      const n = parseDelta(d)
      if (n !== undefined) cc[numeric] = n
      else if (d.name === 'max-stale' && d.value === undefined) cc.maxStale = Infinity
      else if (d.name === 'max-age' || d.name === 's-maxage') cc[numeric] = 0 // invalid → stale
      continue
    }
    if (d.name === 'no-cache' || d.name === 'private') {
      const key = d.name === 'no-cache' ? 'noCache' : 'private'
      const list = d.valid ? fieldList(d.value) : true
      const prev = cc[key]
      cc[key] = prev === true || list === true ? true : [...(prev ?? []), ...list]
      continue
    }
    const flag = FLAGS[d.name]
    if (flag === undefined) continue // unknown extension: ignore (§5.2.3)
    if (d.value !== undefined && !RESTRICTIVE_FLAGS.has(flag)) continue // e.g. "public=1": ignore
    cc[flag] = true
  }
  return cc
}

const PRAGMA_NO_CACHE: Readonly<CacheControl> = Object.freeze({ noCache: true })

/**
 * A response's cache directives for this cache: those of its `CDN-Cache-Control` (RFC 9213: the
 * field for caches run by or for the origin, which a reverse proxy's is), else of its
 * `Surrogate-Control` (W3C Edge Architecture, as Squid, Varnish and Fastly read it), when the
 * field is valid and says something; else its Cache-Control.
 */
export function responseCacheControl(headers: HeaderSource): Readonly<CacheControl> {
  const cdn = headerLines(headers, 'cdn-cache-control')
  if (cdn.length > 0) {
    const cc = cdnMemo(cdn.join(','))
    if (cc !== null) return cc
  }
  const surrogate = headerLines(headers, 'surrogate-control')
  if (surrogate.length > 0) {
    const cc = surrogateMemo(surrogate.join(','))
    if (cc !== null) return cc
  }
  return parseCacheControl(headerLines(headers, 'cache-control'))
}

/**
 * This cache's device token for Surrogate-Control: `max-age=60;switchyard` targets it. It is
 * announced upstream on the cache's requests (Surrogate-Capability, as the Edge Architecture asks).
 */
export const SURROGATE_TOKEN = 'switchyard'
export const SURROGATE_CAPABILITY = `${SURROGATE_TOKEN}="Surrogate/1.0"`

const cdnMemo = memoize(256, parseCdnCacheControl)
const surrogateMemo = memoize(256, parseSurrogateControl)

/**
 * CDN-Cache-Control: a Structured Field Dictionary (RFC 9213 §2.1) of Cache-Control's directives
 * — integers for delta-seconds, `true` for flags, a string of field names for no-cache/private. A
 * directive of the wrong type is ignored; an invalid field, or one with no directive this cache
 * uses (`foo`, a typo such as `maxage=60`), is not used at all (null): it never lifts a
 * `Cache-Control: private` or `no-store` by accident.
 */
function parseCdnCacheControl(value: string): Readonly<CacheControl> | null {
  const dict = parseDictionary(value)
  if (dict === undefined || dict.size === 0) return null
  const cc: CacheControl = { targeted: true }
  let used = false
  for (const [key, v] of dict) {
    const numeric = NUMERIC[key]
    if (numeric !== undefined) {
      if (typeof v === 'number' && Number.isInteger(v) && v >= 0) {
        cc[numeric] = Math.min(v, MAX_DELTA_SECONDS)
        used = true
      }
    } else if (key === 'no-cache' || key === 'private') {
      if (v === true || typeof v === 'string') {
        cc[key === 'no-cache' ? 'noCache' : 'private'] = v === true ? true : fieldList(v)
        used = true
      }
    } else {
      const flag = FLAGS[key]
      if (flag !== undefined && v === true) {
        cc[flag] = true
        used = true
      }
    }
  }
  return used ? cc : null
}

/**
 * Surrogate-Control (W3C Edge Architecture 1.0): Cache-Control's syntax, with `max-age=N+M`
 * (fresh for N s, then usable for M s if the origin fails: stale-if-error) and `no-store`;
 * a directive qualified with `;name` targets that named surrogate: this one is SURROGATE_TOKEN,
 * and any other is not for it. Used only
 * when it sets max-age or no-store (a field that only declares `content="ESI/1.0"` does not
 * override Cache-Control).
 */
function parseSurrogateControl(value: string): Readonly<CacheControl> | null {
  const kept: string[] = []
  let staleIfError: number | undefined
  for (const member of splitList(value)) {
    let m = member.trim()
    const semicolon = m.indexOf(';')
    if (semicolon >= 0) {
      if (m.slice(semicolon + 1).trim().toLowerCase() !== SURROGATE_TOKEN) continue
      m = m.slice(0, semicolon).trim()
    }
    if (m === '') continue
    const plus = /^max-age=(\d+)\+(\d+)$/i.exec(m)
    if (plus !== null) {
      kept.push(`max-age=${plus[1]!}`)
      staleIfError = Math.min(Number(plus[2]), MAX_DELTA_SECONDS)
    } else kept.push(m)
  }
  const parsed = parse(kept.join(','))
  if (parsed.maxAge === undefined && parsed.noStore !== true) return null
  const cc: CacheControl = { targeted: true }
  if (parsed.maxAge !== undefined) cc.maxAge = parsed.maxAge
  if (parsed.noStore === true) cc.noStore = true
  if (staleIfError !== undefined) cc.staleIfError = staleIfError
  return cc
}

/**
 * Request Cache-Control; `Pragma: no-cache` counts as `no-cache` only when the request has no
 * Cache-Control field (RFC 9111 §5.4).
 */
export function requestCacheControl(headers: HeaderSource): Readonly<CacheControl> {
  const lines = headerLines(headers, 'cache-control')
  if (lines.length > 0) return parseCacheControl(lines)
  const pragma = headerValue(headers, 'pragma')
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return PRAGMA_NO_CACHE
  return EMPTY
}

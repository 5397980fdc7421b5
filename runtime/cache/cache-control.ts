// Cache-Control parsing (RFC 9111 §5.2) for requests and responses, plus RFC 5861 extensions.
// - Directive names are case-insensitive; unknown directives are ignored (§5.2.3).
// - Arguments may be tokens or quoted strings, whatever the directive prefers (§5.2).
// - Duplicates: the first occurrence wins (§4.2.1 allows "first occurrence" or "stale").
// - Invalid delta-seconds: max-age / s-maxage become 0, i.e. stale (§4.2.1 "encouraged to consider
//   responses that have invalid freshness information to be stale"); other numeric ones are ignored.
// - Restrictive directives (no-store, no-cache, private) apply even when their syntax is broken.
import { headerLines, headerValue, isToken, splitList, type HeaderSource } from './headers.js'
import { memoize } from './memo.js'

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

/** Response Cache-Control of a header set. */
export function responseCacheControl(headers: HeaderSource): Readonly<CacheControl> {
  return parseCacheControl(headerLines(headers, 'cache-control'))
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

import type { PickContext } from './balancer.js'
import { keyHash } from './hash-key.js'

/**
 * What the hash policy hashes: `header:NAME`, `cookie:NAME`, `query:NAME`, `path`, `ip`
 * (the whole client address), or a function returning the key (undefined or '' = no key).
 */
export type HashKey = string | ((ctx: PickContext) => string | undefined)

/** Hash of a request's key (see `keyHash`: a 30-bit integer), or -1 when the request has no key. */
export type KeyHasher = (ctx: PickContext) => number

export const NO_KEY = -1

export type ParsedHashKey =
  | { kind: 'header' | 'cookie' | 'query'; name: string }
  | { kind: 'path' | 'ip' }

/** RFC 9110 token: header and cookie names. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A raw query parameter name: anything that is not a separator. */
const QUERY_NAME = /^[^&=#\s]+$/

export function parseHashKey(key: string): ParsedHashKey | undefined {
  if (key === 'path' || key === 'ip') return { kind: key }
  const colon = key.indexOf(':')
  if (colon < 0) return undefined
  const kind = key.slice(0, colon)
  const name = key.slice(colon + 1)
  if (kind === 'header' || kind === 'cookie') return TOKEN.test(name) ? { kind, name } : undefined
  if (kind === 'query') return QUERY_NAME.test(name) ? { kind, name } : undefined
  return undefined
}

/**
 * Compiles a key into a hasher once, at build time; the hasher allocates nothing per pick.
 * Empty values count as missing (all keyless requests on one server would be a hot spot).
 * Cookie and query values are hashed raw (no percent-decoding): the same client sends the
 * same bytes. A key function that throws propagates to the request's error handling.
 */
export function compileKeyHasher(key: HashKey): KeyHasher {
  if (typeof key === 'function') {
    return (ctx) => {
      const value = key(ctx)
      return typeof value === 'string' && value.length > 0 ? keyHash(value) : NO_KEY
    }
  }
  const parsed = parseHashKey(key)
  if (parsed === undefined) throw new TypeError(`invalid hash key '${key}'`)
  switch (parsed.kind) {
    case 'path':
      return (ctx) => (ctx.path.length > 0 ? keyHash(ctx.path) : NO_KEY)
    case 'ip':
      return (ctx) => (ctx.clientIp.length > 0 ? keyHash(ctx.clientIp) : NO_KEY)
    case 'header': {
      const name = parsed.name.toLowerCase()
      return (ctx) => {
        const value = ctx.header(name)
        return value !== undefined && value.length > 0 ? keyHash(value) : NO_KEY
      }
    }
    case 'cookie': {
      const name = parsed.name
      return (ctx) => {
        const cookies = ctx.header('cookie')
        return cookies === undefined ? NO_KEY : hashPairValue(cookies, name, ';')
      }
    }
    case 'query': {
      const name = parsed.name
      return (ctx) => hashPairValue(ctx.query, name, '&')
    }
  }
}

/**
 * Finds the first `name=value` in `list` (pairs split by `separator`, optional spaces after
 * it, as in `a=1; b=2` or `a=1&b=2`) and hashes the value in place; NO_KEY when absent/empty.
 * Only the one name asked for is looked at: nothing is split or allocated.
 */
export function hashPairValue(list: string, name: string, separator: ';' | '&'): number {
  const length = list.length
  let i = 0
  while (i < length) {
    while (i < length && (list.charCodeAt(i) === 32 || list.charCodeAt(i) === 9)) i++
    let end = list.indexOf(separator, i)
    if (end < 0) end = length
    if (list.startsWith(name, i) && list.charCodeAt(i + name.length) === 61 /* = */) {
      let start = i + name.length + 1
      while (end > start && (list.charCodeAt(end - 1) === 32 || list.charCodeAt(end - 1) === 9)) end--
      // A quoted cookie value ("abc") is the same value as abc.
      if (end - start >= 2 && list.charCodeAt(start) === 34 && list.charCodeAt(end - 1) === 34) {
        start++
        end--
      }
      return end > start ? keyHash(list, start, end) : NO_KEY
    }
    i = end + 1
  }
  return NO_KEY
}

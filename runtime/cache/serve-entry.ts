// Writing stored responses to the client: one `writeHead(status, flat)` and one `end(body)`,
// no Web objects. The stored lines, with the route's response rules applied, are flattened
// once per stored header list (the memory store hands out the same frozen list until the entry
// changes): a hit copies that array and appends Content-Length, Age and Cache-Status.
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { applyHeaderRules } from '../forward/response-headers.js'
import { notModifiedHeaders } from './conditional.js'
import { firstHeader, type FieldList } from './headers.js'
import { ifRangeAllows, parseRange } from '../byte-range.js'

interface Prepared {
  /** The rules `head` and `tail` were made for. */
  rules: ResolvedHeaderRules | undefined
  /** Stored lines for writeHead, without Age and Content-Length, minus what the rules remove. */
  head: string[]
  /** Stored Content-Length (sent when the body is not at hand, e.g. HEAD). */
  contentLength: string | undefined
  /** Whether the rules let the lines the cache adds through. */
  sendLength: boolean
  sendAge: boolean
  sendStatus: boolean
  /** What the rules append. */
  tail: readonly string[]
}

const prepared = new WeakMap<FieldList, Prepared>()

function prepare(headers: FieldList, rules: ResolvedHeaderRules | undefined): Prepared {
  const p = prepared.get(headers)
  if (p !== undefined && p.rules === rules) return p
  const flat: string[] = []
  let contentLength: string | undefined
  for (const [n, v] of headers) {
    const l = n.length === 3 || n.length === 14 ? n.toLowerCase() : ''
    if (l === 'age') continue
    if (l === 'content-length') {
      contentLength ??= v
      continue
    }
    flat.push(n, v)
  }
  const removed = new Set(rules?.remove ?? [])
  const next: Prepared = {
    rules,
    head: rules && rules.remove.length > 0 ? applyHeaderRules(flat, { remove: rules.remove, append: [] }) : flat,
    contentLength,
    sendLength: !removed.has('content-length'),
    sendAge: !removed.has('age'),
    sendStatus: !removed.has('cache-status'),
    tail: rules ? rules.append.flat() : [],
  }
  prepared.set(headers, next)
  return next
}

/**
 * A stored response: its lines plus Content-Length (from the body when we have it), Age,
 * Cache-Status and `extra` (flat [name, value, …]).
 */
export function writeStored(
  ctx: RequestContext, rules: ResolvedHeaderRules | undefined, status: number, headers: FieldList,
  body: Buffer | undefined, age: string, cacheStatus: string, extra?: readonly string[],
): void {
  const res = ctx.res
  if (res.destroyed) return
  const p = prepare(headers, rules)
  const out = p.head.slice()
  if (p.sendLength && status >= 200 && status !== 204 && status !== 304) {
    const length = body !== undefined ? String(body.length) : p.contentLength
    if (length !== undefined) out.push('content-length', length)
  }
  if (p.sendAge) out.push('age', age)
  if (p.sendStatus) out.push('cache-status', cacheStatus)
  if (extra !== undefined) out.push(...extra)
  for (let i = 0; i < p.tail.length; i++) out.push(p.tail[i]!)
  ctx.status = status
  res.writeHead(status, out)
  if (body === undefined || ctx.method === 'HEAD') return void res.end()
  ctx.bytes = body.length
  res.end(body)
}

/**
 * A GET with `Range` answered from a stored 200 (RFC 9110 §14): one satisfiable range → 206 with
 * Content-Range and that slice; none satisfiable → 416 with `Content-Range: bytes *\/size`; an
 * If-Range naming another representation, several ranges or a malformed header → the whole 200.
 */
export function writeStoredRange(
  ctx: RequestContext, rules: ResolvedHeaderRules | undefined, headers: FieldList, body: Buffer,
  range: string, ifRange: string | undefined, age: string, cacheStatus: string,
): void {
  const size = body.length
  const wanted = ifRangeAllows(ifRange, firstHeader(headers, 'etag'), firstHeader(headers, 'last-modified')) ? parseRange(range, size) : undefined
  if (wanted === undefined) return writeStored(ctx, rules, 200, headers, body, age, cacheStatus)
  if (wanted === 'unsatisfiable') {
    const res = ctx.res
    if (res.destroyed) return
    ctx.status = 416
    const out = ['content-range', `bytes */${size}`, 'content-length', '0', 'cache-status', cacheStatus]
    res.writeHead(416, rules ? applyHeaderRules(out, rules) : out)
    return void res.end()
  }
  const slice = body.subarray(wanted.start, wanted.end + 1)
  writeStored(ctx, rules, 206, headers, slice, age, cacheStatus, ['content-range', `bytes ${wanted.start}-${wanted.end}/${size}`])
}

/** 304 for a client conditional answered from a stored response (RFC 9110 §15.4.5). */
export function writeNotModified(
  ctx: RequestContext, rules: ResolvedHeaderRules | undefined, headers: FieldList, age: string | undefined, cacheStatus: string,
): void {
  const res = ctx.res
  if (res.destroyed) return
  const out = notModifiedHeaders(headers).flat()
  if (age !== undefined) out.push('age', age)
  out.push('cache-status', cacheStatus)
  ctx.status = 304
  res.writeHead(304, rules ? applyHeaderRules(out, rules) : out)
  res.end()
}

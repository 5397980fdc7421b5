// Writing stored responses to the client: header arrays prepared once per stored header list
// (the memory store hands out the same frozen list until the entry changes), no Web objects.
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { applyHeaderRules } from '../forward/response-headers.js'
import { notModifiedHeaders } from './conditional.js'
import type { FieldList } from './headers.js'

interface Prepared {
  /** Stored lines flattened for writeHead, without Age and Content-Length. */
  flat: string[]
  contentLength: string | undefined
}

const prepared = new WeakMap<FieldList, Prepared>()

function prepare(headers: FieldList): Prepared {
  let p = prepared.get(headers)
  if (p) return p
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
  p = { flat, contentLength }
  prepared.set(headers, p)
  return p
}

/** A stored response: its lines plus Content-Length (from the body when we have it), Age and Cache-Status. */
export function writeStored(
  ctx: RequestContext, rules: ResolvedHeaderRules | undefined, status: number, headers: FieldList,
  body: Buffer | undefined, age: string, cacheStatus: string,
): void {
  const p = prepare(headers)
  const out = p.flat.slice()
  if (status >= 200 && status !== 204 && status !== 304) {
    const length = body !== undefined ? String(body.length) : p.contentLength
    if (length !== undefined) out.push('content-length', length)
  }
  out.push('age', age, 'cache-status', cacheStatus)
  write(ctx, rules, status, out, body)
}

/** 304 for a client conditional answered from a stored response (RFC 9110 §15.4.5). */
export function writeNotModified(
  ctx: RequestContext, rules: ResolvedHeaderRules | undefined, headers: FieldList, age: string | undefined, cacheStatus: string,
): void {
  const out = notModifiedHeaders(headers).flat()
  if (age !== undefined) out.push('age', age)
  out.push('cache-status', cacheStatus)
  write(ctx, rules, 304, out, undefined)
}

function write(ctx: RequestContext, rules: ResolvedHeaderRules | undefined, status: number, headers: string[], body: Buffer | undefined): void {
  const res = ctx.res
  if (res.destroyed) return
  ctx.status = status
  res.writeHead(status, rules ? applyHeaderRules(headers, rules) : headers)
  if (body === undefined || ctx.method === 'HEAD') return void res.end()
  ctx.bytes = body.length
  res.end(body)
}

/** A stored body in one Buffer (no copy for the usual single chunk); undefined if it broke off. */
export async function collectBody(body: AsyncIterable<Uint8Array>): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let total = 0
  try {
    for await (const c of body) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength)
      chunks.push(b)
      total += b.length
    }
  } catch {
    return undefined
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)
}

/** Flat [name, value, …] → pairs, for the policy functions. */
export function toPairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

/**
 * `headers()`: change request headers sent upstream and response headers sent to the client —
 * the route option `headers: { request, response }` as a reusable middleware.
 *
 * ```ts
 * import { headers } from 'switchyard/middleware'
 * use: [headers({
 *   request: { set: { 'x-env': 'prod' }, remove: ['x-debug'] },
 *   response: { set: { 'strict-transport-security': 'max-age=31536000' }, add: { 'x-served-by': 'switchyard' }, remove: ['server'] },
 * })]
 * ```
 * Applied remove → set → add (as the route option). Request headers change in `onUpstreamRequest`
 * (so only forwarded requests are affected); response headers in `onResponse` (every response,
 * including early answers, cache hits and errors).
 */
import type { Middleware, UpstreamRequestInfo } from '../config/hooks.js'
import { editHeaders } from './util.js'

export interface HeaderOps {
  /** Replace (or create) these headers. */
  set?: Record<string, string>
  /** Append another value (several with an array). */
  add?: Record<string, string | string[]>
  /** Delete these headers (case-insensitive names). */
  remove?: string[]
}

export interface HeadersOptions {
  request?: HeaderOps
  response?: HeaderOps
}

/** Applies `ops` to `headers` in place: remove, then set, then add. */
export function applyHeaderOps(headers: Headers, ops: HeaderOps): void {
  for (const name of ops.remove ?? []) headers.delete(name)
  for (const [name, value] of Object.entries(ops.set ?? {})) headers.set(name, value)
  for (const [name, value] of Object.entries(ops.add ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
}

function validate(ops: HeaderOps | undefined, where: string): void {
  if (ops === undefined) return
  // Fail at config load, not on the first request: Headers rejects invalid names and values.
  try {
    applyHeaderOps(new Headers(), ops)
  } catch (err) {
    throw new TypeError(`headers(): ${where}: ${(err as Error).message}`)
  }
}

export function headers(options: HeadersOptions): Middleware {
  const { request, response } = options
  validate(request, 'request')
  validate(response, 'response')
  const mw: { -readonly [K in keyof Middleware]: Middleware[K] } = { name: 'headers' }
  if (request) {
    mw.onUpstreamRequest = (_ctx, req: UpstreamRequestInfo) => applyHeaderOps(req.headers, request)
  }
  if (response) {
    mw.onResponse = (_ctx, res) => editHeaders(res, (h) => applyHeaderOps(h, response))
  }
  return mw
}

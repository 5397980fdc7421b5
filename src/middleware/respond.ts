/**
 * `respond()`: answer every request itself (maintenance pages, health checks, fixed stubs).
 *
 * ```ts
 * import { respond } from 'switchyard/middleware'
 * routes: [{ match: { path: '/*' }, to: 'web', use: [respond({ status: 503, body: 'down for maintenance', headers: { 'retry-after': '600' } })] }]
 * ```
 * A string body is sent as `text/plain; charset=utf-8`, an object or array as JSON, a `Uint8Array`
 * as `application/octet-stream` — unless `headers` sets a content-type.
 */
import type { Middleware } from '../config/hooks.js'

export interface RespondOptions {
  /** Default 200. */
  status?: number
  /** Default empty. */
  body?: string | Uint8Array | object | null
  headers?: Record<string, string>
}

/** A Response factory for a fixed answer (bodies are single use, so each call builds one). */
export function fixedResponse(options: RespondOptions): () => Response {
  const status = options.status ?? 200
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new TypeError(`respond(): status must be 200–599, got ${status}`)
  let bytes: Uint8Array | null
  let type: string | undefined
  const body = options.body
  if (body === undefined || body === null) bytes = null
  else if (typeof body === 'string') [bytes, type] = [new TextEncoder().encode(body), 'text/plain; charset=utf-8']
  else if (body instanceof Uint8Array) [bytes, type] = [body, 'application/octet-stream']
  else [bytes, type] = [new TextEncoder().encode(JSON.stringify(body)), 'application/json']
  const headers = new Headers(options.headers)
  if (type && !headers.has('content-type')) headers.set('content-type', type)
  const nullBody = status === 204 || status === 205 || status === 304
  return () => new Response(nullBody ? null : bytes && bytes.slice(), { status, headers })
}

export function respond(options: RespondOptions = {}): Middleware {
  const make = fixedResponse(options)
  return { name: 'respond', onRequest: () => make() }
}

/** Materializes a Web `Request` for a user handler (only routes with a handler pay for this). */
import { nodeToWeb } from './node-to-web.js'
import type { RequestContext } from '../context.js'

export function toWebRequest(ctx: RequestContext, prebuilt?: Headers): Request {
  const headers = prebuilt ?? rawToHeaders(ctx.req.rawHeaders)
  const url = requestUrl(ctx).href
  const withBody = ctx.hasBody && ctx.method !== 'GET' && ctx.method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method: ctx.method, headers }
  if (withBody) {
    init.body = nodeToWeb(ctx.bodyStream, 'drain')
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/**
 * The URL hooks and handlers see: the canonical target on the client's scheme and host — `http`
 * and the Host header, or what a proxy trusted by `trustProxy` said (X-Forwarded-Proto/-Host).
 */
export function requestUrl(ctx: RequestContext): URL {
  try {
    return new URL(ctx.target, `${ctx.proto}://${ctx.forwardedHost || ctx.hostHeader || 'localhost'}`)
  } catch {
    return new URL(ctx.target, `${ctx.proto}://localhost`)
  }
}

/** WHATWG Headers from Node's raw [name, value, …] list. */
export function rawToHeaders(raw: readonly string[]): Headers {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {
      // A value Node accepted but WHATWG Headers rejects: left out of the handler's view.
    }
  }
  return headers
}

/**
 * The inverse of rawToHeaders for a request's fields a hook or handler set: the flat
 * [name, value, …] list the forwarder builds upstream headers from (Set-Cookie is a response field).
 */
export function headersToRaw(headers: Headers): string[] {
  const out: string[] = []
  for (const [name, value] of headers) if (name !== 'set-cookie') out.push(name, value)
  return out
}

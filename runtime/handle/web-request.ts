/** Materializes a Web `Request` for a user handler (only routes with a handler pay for this). */
import { nodeToWeb } from './node-to-web.js'
import type { RequestContext } from '../context.js'

export function toWebRequest(ctx: RequestContext, prebuilt?: Headers): Request {
  const headers = prebuilt ?? rawToHeaders(ctx.req.rawHeaders)
  let url: string
  try {
    url = new URL(ctx.target, `http://${ctx.hostHeader || 'localhost'}`).href
  } catch {
    url = new URL(ctx.target, 'http://localhost').href
  }
  const withBody = ctx.hasBody && ctx.method !== 'GET' && ctx.method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method: ctx.method, headers }
  if (withBody) {
    init.body = nodeToWeb(ctx.req, 'drain')
    init.duplex = 'half'
  }
  return new Request(url, init)
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

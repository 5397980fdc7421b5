/** Materializes a Web `Request` for a user handler (only routes with a handler pay for this). */
import { Readable } from 'node:stream'
import type { RequestContext } from '../context.js'

export function toWebRequest(ctx: RequestContext): Request {
  const headers = new Headers()
  const raw = ctx.req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i]!, raw[i + 1]!)
    } catch {
      // A value Node accepted but WHATWG Headers rejects: leave it out of the handler's view.
    }
  }
  let url: string
  try {
    url = new URL(ctx.target, `http://${ctx.hostHeader || 'localhost'}`).href
  } catch {
    url = new URL(ctx.target, 'http://localhost').href
  }
  const withBody = ctx.hasBody && ctx.method !== 'GET' && ctx.method !== 'HEAD'
  const init: RequestInit & { duplex?: 'half' } = { method: ctx.method, headers }
  if (withBody) {
    init.body = Readable.toWeb(ctx.req) as ReadableStream<Uint8Array>
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/** Writes a Web `Response` from a handler to the client, streaming its body with backpressure. */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { asksToClose, isHopByHop } from '../forward/hop-by-hop.js'

/** The parts of a Response we use; duck-typed so a Response from another undici copy works too. */
export interface ResponseLike {
  status: number
  headers: Headers
  body: ReadableStream<Uint8Array> | null
}

export function isResponseLike(value: unknown): value is ResponseLike {
  const v = value as ResponseLike | null
  return typeof v === 'object' && v !== null && typeof v.status === 'number' && typeof v.headers?.get === 'function' && 'body' in v
}

export async function sendWebResponse(ctx: RequestContext, response: ResponseLike, rules: ResolvedHeaderRules | undefined): Promise<void> {
  const res = ctx.res
  const headers: string[] = []
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || isHopByHop(name) || rules?.remove.includes(name)) continue
    headers.push(name, value)
  }
  if (!rules?.remove.includes('set-cookie')) for (const cookie of response.headers.getSetCookie()) headers.push('set-cookie', cookie)
  if (rules) for (const [n, v] of rules.append) headers.push(n, v)
  // Connection is hop-by-hop and not copied, but a Response saying `Connection: close` (e.g.
  // bodyLimit's 413) asks for this connection to end after it: Node then writes the header.
  if (response.status >= 200 && asksToClose(response.headers.get('connection'))) res.shouldKeepAlive = false
  ctx.status = response.status
  res.writeHead(response.status, headers)
  if (response.body === null || ctx.method === 'HEAD') {
    await response.body?.cancel().catch(() => {})
    res.end()
    return
  }
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
  body.on('data', (chunk: Uint8Array) => (ctx.bytes += chunk.length))
  await pipeline(body, res)
}

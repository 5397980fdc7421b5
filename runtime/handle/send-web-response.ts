/** Writes a Web `Response` from a handler to the client, streaming its body with backpressure. */
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
  await writeBody(ctx, response.body)
}

/**
 * Writes `body` to the client with backpressure and ends the response. Rejects when the body
 * fails or the client goes away first (the body is then cancelled); the caller aborts the
 * connection. Uses only write/end/'drain'/'close' of the response, so it serves node:http's
 * ServerResponse and the fast front's alike.
 */
async function writeBody(ctx: RequestContext, body: ReadableStream<Uint8Array>): Promise<void> {
  const res = ctx.res
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (res.destroyed) throw new Error('client closed the connection')
      if (done) return void res.end()
      ctx.bytes += value.length
      if (!res.write(value)) await drainedOrClosed(res)
    }
  } catch (err) {
    void reader.cancel(err).catch(() => {})
    throw err
  }
}

function drainedOrClosed(res: RequestContext['res']): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

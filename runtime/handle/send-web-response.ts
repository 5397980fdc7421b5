/** Writes a Web `Response` from a handler to the client, streaming its body with backpressure. */
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { asksToClose } from '../forward/hop-by-hop.js'
import { flatWebHeaders } from '../pipeline/proxy-response.js'
import { sendError } from '../respond.js'

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
  const headers = flatWebHeaders(response.headers, rules?.remove)
  if (rules) for (const [n, v] of rules.append) headers.push(n, v)
  // Connection is hop-by-hop and not copied, but a Response saying `Connection: close` (e.g.
  // bodyLimit's 413) asks for this connection to end after it: Node then writes the header.
  if (response.status >= 200 && asksToClose(response.headers.get('connection'))) res.shouldKeepAlive = false
  ctx.status = response.status
  if (response.body === null || ctx.method === 'HEAD') {
    res.writeHead(response.status, headers)
    await response.body?.cancel().catch(() => {})
    res.end()
    return
  }
  // The head waits for the first chunk (or the end): neither front puts it on the wire before
  // either anyway, and a body that fails first (an upstream that closed after its head) leaves
  // the response unstarted — the caller answers with an error status instead of a cut.
  const writeHead = (): void => void res.writeHead(response.status, headers)
  await writeBody(ctx, response.body, response.status === 204 || response.status === 304 ? -1 : declaredLength(response), writeHead)
}

/**
 * What a caller answers when sendWebResponse rejected: an error status if the response has not
 * started (`fallback`, or the status the body's error carries: an upstream's 502/504), else it
 * cuts the connection — never a clean-looking truncated response.
 */
export function failedWebResponse(ctx: RequestContext, err: unknown, what: string, fallback: number): void {
  const message = (err as Error | undefined)?.message ?? String(err)
  if (!ctx.res.headersSent && !ctx.res.destroyed) {
    const status = (err as { status?: unknown } | undefined)?.status
    return sendError(ctx, typeof status === 'number' && status >= 500 && status <= 599 ? status : fallback, `${what}: ${message}`)
  }
  ctx.error ??= `${what}: ${message}`
  ctx.res.destroy()
}

/** The Content-Length a Response declares for its body (-1: none, or not a plain number). */
function declaredLength(response: ResponseLike): number {
  const value = response.headers.get('content-length')
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : -1
}

/**
 * Writes `body` to the client with backpressure and ends the response. Rejects when the body
 * fails, breaks its declared length (`declared` ≥ 0) or yields something other than bytes, or
 * when the client goes away first — even while the body is idle: the body is then cancelled.
 * The caller aborts the connection. Uses only write/end/'drain'/'close' of the response, so it
 * serves node:http's ServerResponse and the fast front's alike.
 */
async function writeBody(ctx: RequestContext, body: ReadableStream<Uint8Array>, declared: number, writeHead: () => void): Promise<void> {
  const res = ctx.res
  let headPending = true
  const reader = body.getReader()
  // A read pending on an idle body (a stream that has nothing yet) ends when the client leaves.
  // So does one whose response was answered otherwise while its head waited (a deadline's 504).
  const gone = (): void => {
    if (headPending || !res.writableFinished) void reader.cancel(new Error('client closed the connection')).catch(() => {})
  }
  res.once('close', gone)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (headPending && res.headersSent) {
        // Answered otherwise meanwhile (a deadline's 504): not ours to end.
        void reader.cancel().catch(() => {})
        return
      }
      if (res.destroyed) throw new Error('client closed the connection')
      if (done) {
        if (declared >= 0 && ctx.bytes < declared) throw new Error(`response body shorter than its Content-Length (${ctx.bytes} of ${declared} bytes)`)
        if (headPending) writeHead()
        return void res.end()
      }
      // As Fetch: a body is bytes. (A string's length is not its size on the wire.)
      if (!(value instanceof Uint8Array)) throw new TypeError('response body chunks must be Uint8Array')
      ctx.bytes += value.byteLength
      if (declared >= 0 && ctx.bytes > declared) throw new Error(`response body longer than its Content-Length (${declared} bytes)`)
      if (headPending) {
        headPending = false
        writeHead()
      }
      if (!res.write(value)) await drainedOrClosed(res)
    }
  } catch (err) {
    void reader.cancel(err).catch(() => {})
    throw err
  } finally {
    res.off('close', gone)
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

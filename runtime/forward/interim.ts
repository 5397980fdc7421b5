/**
 * An upstream's interim (1xx) responses passed on to the client: RFC 9110 §15.2 — a proxy MUST
 * forward them unless it asked for them itself. `103 Early Hints` lets a browser preload while
 * the origin is still working, `102 Processing` keeps a client's patience.
 *
 * Not passed on: `100 Continue` (the proxy answers `Expect: 100-continue` itself, when it first
 * reads the body: see body-guard.ts; the upstream's 100 concerns the proxy's own upload); `101`
 * (a tunnel is another path); anything once the final head is out, or to an HTTP/1.0 client
 * (§15.2: a server MUST NOT send one a 1xx), or to a response the proxy is not streaming to
 * the client (a hook's capture, the cache's background refresh).
 */
import { ServerResponse, STATUS_CODES } from 'node:http'
import type { RequestContext } from '../context.js'
import { FastResponse } from '../adapters/node/fast-exchange.js'

/** node:http's own raw write, which writeContinue and writeEarlyHints use: in order with pipelined responses. */
interface RawWriter {
  _writeRaw(data: string, encoding: BufferEncoding): boolean
}

/** `headers`: flat [name, value, …] parsed by llhttp, through stripHopByHop (no framing fields). */
export function sendInterim(ctx: RequestContext, status: number, headers: readonly string[]): void {
  if (status < 102 || status > 199) return
  const req = ctx.req
  const res = ctx.res
  if (res.headersSent || res.destroyed || req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return
  if (!(res instanceof FastResponse) && !(res instanceof ServerResponse)) return
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]!}: ${headers[i + 1]!}\r\n`
  head += '\r\n'
  if (res instanceof FastResponse) res.writeInterim(head)
  else (res as unknown as RawWriter)._writeRaw(head, 'latin1')
}

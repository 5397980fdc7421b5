/** Responses the proxy writes itself: errors, redirects, `respond` routes. */
import type { RequestContext } from './context.js'
import { STATUS_CODES } from 'node:http'
import { ResponseCapture } from './pipeline/response-capture.js'

export function sendText(ctx: RequestContext, status: number, text: string, extra?: string[]): void {
  const body = Buffer.from(`${text}\n`)
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'cache-control', 'no-store']
  if (extra) headers.push(...extra)
  send(ctx, status, headers, body)
}

export function sendError(ctx: RequestContext, status: number, reason: string, extra?: string[]): void {
  ctx.error = reason
  if (ctx.res.headersSent || ctx.res.destroyed) return void ctx.res.destroy()
  // A hooked route capturing this answer (pipeline/response-capture.ts): its onError hooks decide.
  if (ctx.res instanceof ResponseCapture) return ctx.res.fail(status, reason, extra)
  sendText(ctx, status, `${status} ${STATUS_CODES[status] ?? ''}`.trim(), extra)
}

export function send(ctx: RequestContext, status: number, headers: string[], body: Buffer): void {
  const res = ctx.res
  if (res.destroyed) return
  ctx.status = status
  ctx.bytes = body.length
  res.writeHead(status, headers)
  res.end(ctx.method === 'HEAD' ? undefined : body)
}

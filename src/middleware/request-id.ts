/**
 * `requestId()`: give every request an id — the client's (when it sent a valid one) or a new
 * `crypto.randomUUID()` — sent upstream and back to the client in the same header, and kept in
 * `ctx.state.requestId` for other hooks.
 *
 * ```ts
 * import { requestId } from 'switchyard/middleware'
 * use: [requestId()]                                      // X-Request-Id
 * use: [requestId({ header: 'x-correlation-id', trustIncoming: false })]
 * ```
 * A valid incoming id is 1–200 visible ASCII characters without spaces, commas or quotes
 * (anything else is replaced, so a client cannot inject log lines or header lists).
 * Put it first in `use` so every later hook (and the access log hook `onLog`) can see it.
 */
import { randomUUID } from 'node:crypto'
import type { HookContext, LogRecord, Middleware } from '../config/hooks.js'
import { editHeaders } from './util.js'

export interface RequestIdOptions {
  /** Default 'x-request-id'. */
  header?: string
  /** Make a new id, default crypto.randomUUID. */
  generate?: () => string
  /** Keep a valid id the client sent, default true. */
  trustIncoming?: boolean
  /** Called once per request at the end with the id and the access record (e.g. to log them together). */
  log?: (id: string, record: LogRecord) => void
}

const VALID = /^[\x21\x23-\x2b\x2d-\x7e]{1,200}$/ // visible ASCII except '"' and ','

export function isValidRequestId(id: string | null): id is string {
  return id !== null && VALID.test(id)
}

export function requestId(options: RequestIdOptions = {}): Middleware {
  const header = (options.header ?? 'x-request-id').toLowerCase()
  const generate = options.generate ?? randomUUID
  const trustIncoming = options.trustIncoming ?? true
  const log = options.log
  const idOf = (ctx: HookContext): string => {
    let id = ctx.state.requestId
    if (typeof id === 'string') return id
    const incoming = trustIncoming ? ctx.headers.get(header) : null
    id = isValidRequestId(incoming) ? incoming : generate()
    ctx.state.requestId = id as string
    return id as string
  }
  return {
    name: 'requestId',
    onRequest(ctx) {
      const id = idOf(ctx)
      // Handlers and ctx.forward see the request headers as hooks left them.
      if (ctx.headers.get(header) !== id) ctx.headers.set(header, id)
    },
    onUpstreamRequest(ctx, req) {
      req.headers.set(header, idOf(ctx))
    },
    onResponse(ctx, res) {
      const id = idOf(ctx)
      if (res.headers.get(header) === id) return undefined
      return editHeaders(res, (h) => h.set(header, id))
    },
    onLog(ctx, record) {
      const id = ctx.state.requestId
      if (typeof id === 'string') log?.(id, record)
    },
  }
}

/**
 * `bodyLimit()`: refuse request bodies larger than `max` with `413 Content Too Large`.
 *
 * ```ts
 * import { bodyLimit } from 'switchyard/middleware'
 * use: [bodyLimit({ max: '10mb' })]
 * ```
 * - A `Content-Length` above `max` is answered `413` at once, before any of the body is read
 *   (through the response hooks, like any early answer), with `Connection: close`: the body is
 *   never read (with `Expect: 100-continue`, never invited — see runtime/body-guard.ts).
 * - A body without a length (chunked) is counted as it arrives (`ctx.setBodyLimit`), whoever
 *   reads it — the upstream, a `handle` route's handler, a hook: once it passes `max` the
 *   upstream request is aborted, the handler's body read fails, and the client gets `413` with
 *   `Connection: close` — or, if its response had already begun, the connection is closed.
 *   Nothing past the limit is forwarded or buffered.
 */
import type { Middleware } from '../config/hooks.js'
import { sizeOption, textResponse } from './util.js'

export interface BodyLimitOptions {
  /** Largest body accepted, bytes or '10mb'. */
  max: number | string
}

const tooLarge = (max: number): Response => textResponse(413, `Content Too Large: the limit is ${max} bytes\n`, { connection: 'close' })

export function bodyLimit(options: BodyLimitOptions): Middleware {
  const max = sizeOption(options.max, 'bodyLimit(): max')
  return {
    name: 'bodyLimit',
    onRequest(ctx) {
      const cl = ctx.headers.get('content-length')
      if (cl !== null) {
        // Several equal values are joined by Headers as "n, n"; the runtime rejects unequal ones.
        const n = Number(cl.split(',')[0]!.trim())
        if (Number.isFinite(n) && n > max) return tooLarge(max)
        return undefined // the parser holds the body to its Content-Length
      }
      if (ctx.headers.has('transfer-encoding')) ctx.setBodyLimit(max)
      return undefined
    },
  }
}

/**
 * `bodyLimit()`: refuse request bodies larger than `max` with `413 Content Too Large`.
 *
 * ```ts
 * import { bodyLimit } from 'switchyard/middleware'
 * use: [bodyLimit({ max: '10mb' })]
 * ```
 * - A `Content-Length` above `max` is answered `413` at once, before any of the body is read.
 * - A body without a length (chunked) is counted as it streams to the upstream: when it passes
 *   `max` the upstream request is aborted and — if the client has no response yet — the client
 *   gets `413` (through `onError`). If the upstream already answered, its response stands and
 *   the rest of the body is not forwarded.
 *
 * Limitation: the counting happens on the way upstream (`onUpstreamRequest`), so it covers
 * forwarding routes; a `handle` route reads the body itself (only the Content-Length check
 * applies there).
 */
import type { Middleware } from '../config/hooks.js'
import { sizeOption, textResponse } from './util.js'

export interface BodyLimitOptions {
  /** Largest body accepted, bytes or '10mb'. */
  max: number | string
}

const EXCEEDED = 'bodyLimit:exceeded'

export class BodyTooLargeError extends Error {
  readonly status = 413
  constructor(readonly max: number) {
    super(`request body larger than ${max} bytes`)
    this.name = 'BodyTooLargeError'
  }
}

/** A pass-through stream that errors (and calls `onExceeded`) once more than `max` bytes went through. */
export function countingStream(max: number, onExceeded: () => void): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      seen += chunk.byteLength
      if (seen > max) {
        onExceeded()
        controller.error(new BodyTooLargeError(max))
        return
      }
      controller.enqueue(chunk)
    },
  })
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
      }
      return undefined
    },
    onUpstreamRequest(ctx, req) {
      const h = ctx.headers
      if (h.has('content-length') || !h.has('transfer-encoding')) return
      const source = req.body !== undefined ? req.body : ctx.request.body
      if (!source) return
      req.body = source.pipeThrough(countingStream(max, () => void (ctx.state[EXCEEDED] = true)))
    },
    onError(ctx) {
      if (ctx.state[EXCEEDED] === true) return tooLarge(max)
      return undefined
    },
  }
}

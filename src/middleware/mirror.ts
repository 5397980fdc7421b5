/**
 * `mirror()`: send a copy of requests to a shadow upstream group (testing a new version with
 * real traffic). Fire and forget: the shadow's answer is discarded and can never change, delay
 * or fail the real response.
 *
 * ```ts
 * import { mirror } from 'switchyard/middleware'
 * routes: [{ match: { path: '/api/*' }, to: 'api', use: [mirror({ group: 'api-next', sample: 0.1, methods: ['GET', 'POST'] })] }]
 * ```
 * - `sample`: the share of requests copied (0–1, default 1).
 * - The copy is sent when the real request goes upstream (`onUpstreamRequest`, first attempt),
 *   with the same method, path (after rewrites) and headers.
 * - Bodies are split with a bounded tee: the real upstream's reading drives the copy; the copy
 *   may lag behind by at most `maxLag` (default 256kb) — past that (a slow or stuck shadow) the
 *   copy is dropped (its request aborted) and the real request carries on at full speed.
 * - Shadow failures are swallowed: counted in `stats`, and logged (warn) once per streak of
 *   failures through `log` (default: the request's `ctx.log`, i.e. the proxy's log).
 */
import type { HookContext, Middleware, UpstreamRequestInfo } from '../config/hooks.js'
import { logTo, sizeOption, type Logger } from './util.js'

export interface MirrorOptions {
  /** The shadow upstream group. */
  group: string
  /** Share of requests copied, 0–1, default 1. */
  sample?: number
  /** Only copy these methods, default all. */
  methods?: string[]
  /** How far (bytes or '256kb') the copy's body may fall behind the real one before it is dropped. */
  maxLag?: number | string
  random?: () => number
  /** Where shadow failures are reported; default the request's `ctx.log`. */
  log?: Logger
}

export interface MirrorStats {
  sent: number
  failed: number
  dropped: number
}

export interface MirrorMiddleware extends Middleware {
  readonly stats: MirrorStats
}

/**
 * Splits `source` in two: `main` drives reading; `copy` gets every chunk as long as its unread
 * queue stays within `maxLag` bytes, else it is errored and `onDrop` called. Errors of the source
 * reach both; cancelling `copy` never affects `main`.
 */
export function boundedTee(source: ReadableStream<Uint8Array>, maxLag: number, onDrop: () => void): {
  main: ReadableStream<Uint8Array>
  copy: ReadableStream<Uint8Array>
  drop(reason: unknown): void
} {
  const reader = source.getReader()
  let copyCtl!: ReadableStreamDefaultController<Uint8Array>
  let copyOpen = true
  const drop = (reason: unknown): void => {
    if (!copyOpen) return
    copyOpen = false
    try {
      copyCtl.error(reason)
    } catch {
      // already closed
    }
  }
  const copy = new ReadableStream<Uint8Array>({
    start: (c) => void (copyCtl = c),
    cancel: () => void (copyOpen = false),
  }, new ByteLengthQueuingStrategy({ highWaterMark: maxLag }))
  const main = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: Awaited<ReturnType<typeof reader.read>>
      try {
        result = await reader.read()
      } catch (err) {
        drop(err)
        throw err
      }
      if (result.done) {
        controller.close()
        if (copyOpen) {
          copyOpen = false
          copyCtl.close()
        }
        return
      }
      const chunk = result.value
      controller.enqueue(chunk)
      if (!copyOpen) return
      if ((copyCtl.desiredSize ?? 0) < chunk.byteLength) {
        drop(new Error(`mirror copy fell more than ${maxLag} bytes behind`))
        onDrop()
        return
      }
      copyCtl.enqueue(chunk.slice())
    },
    cancel(reason) {
      drop(reason)
      return reader.cancel(reason)
    },
  }, { highWaterMark: 0 })
  return { main, copy, drop }
}

export function mirror(options: MirrorOptions): MirrorMiddleware {
  if (typeof options.group !== 'string' || options.group === '') throw new TypeError('mirror(): group is required')
  const sample = options.sample ?? 1
  if (!(sample >= 0 && sample <= 1)) throw new TypeError(`mirror(): sample must be between 0 and 1, got ${sample}`)
  const methods = options.methods ? new Set(options.methods.map((m) => m.toUpperCase())) : undefined
  const maxLag = sizeOption(options.maxLag ?? '256kb', 'mirror(): maxLag')
  const random = options.random ?? Math.random
  const log = options.log
  const stats: MirrorStats = { sent: 0, failed: 0, dropped: 0 }
  let failing = false
  const DONE = 'mirror:done'

  const failed = (ctx: HookContext, err: unknown): void => {
    stats.failed++
    if (failing) return
    failing = true
    const message = `mirror to '${options.group}' failed (further failures are counted, not logged, until one succeeds): ${(err as Error)?.message ?? String(err)}`
    logTo(log, ctx, 'warn', message)
  }

  const hasBody = (ctx: HookContext): boolean => {
    const h = ctx.headers
    const cl = h.get('content-length')
    return h.has('transfer-encoding') || (cl !== null && cl.trim() !== '0')
  }

  return {
    name: 'mirror',
    stats,
    onUpstreamRequest(ctx: HookContext, req: UpstreamRequestInfo) {
      if (ctx.state[DONE] === true) return
      ctx.state[DONE] = true
      if (methods && !methods.has(req.method.toUpperCase())) return
      if (sample < 1 && random() >= sample) return
      const headers = new Headers(req.headers)
      headers.delete('content-length')
      headers.delete('transfer-encoding')
      let body: ReadableStream<Uint8Array> | null = null
      let drop: ((reason: unknown) => void) | undefined
      const source = req.body !== undefined ? req.body : hasBody(ctx) ? ctx.request.body : null
      if (source) {
        const tee = boundedTee(source, maxLag, () => void stats.dropped++)
        req.body = tee.main
        body = tee.copy
        drop = tee.drop
      }
      stats.sent++
      let sent: Promise<Response>
      try {
        sent = ctx.forward(options.group, { method: req.method, path: req.path, headers, body })
      } catch (err) {
        sent = Promise.reject(err)
      }
      sent.then(
        (res) => {
          failing = false
          // Drained, not cancelled: cancelling a ctx.forward body currently throws an uncaught
          // ERR_INVALID_STATE from Node's Readable.toWeb adapter (reported to the runtime).
          res.body?.pipeTo(new WritableStream()).catch(() => {})
        },
        (err: unknown) => {
          drop?.(err)
          failed(ctx, err)
        },
      )
    },
  }
}

// A RequestContext for requests the cache layer sends upstream itself. `forwardRequest` answers
// some requests straight to `ctx.res` (no server available, every server busy: 503 via
// sendError) and installs its client-abort hook on the context; the cache must see those
// outcomes (to serve stale, add Cache-Status, release a coalescing lock) and must keep
// background refreshes alive after the client has gone. So the forwarder gets a second context
// over the same request, with a response whose only reachable effect — `destroy()`, which
// sendError calls on an already-destroyed response — reports the direct answer.
// It is a plain RequestContext (same hidden class as every other one: no prototype tricks that
// would make the shared hot-path code polymorphic).
import type { ServerResponse } from 'node:http'
import { RequestContext } from '../context.js'
import type { CacheSink } from './cache-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import type { ChunkHolder } from '../upstream-client/read-buffers.js'

export function detachedContext(ctx: RequestContext, onDirectAnswer: () => void): RequestContext {
  let answered = false
  const res = {
    headersSent: false,
    destroyed: true,
    writableFinished: true,
    destroy() {
      if (answered) return
      answered = true
      onDirectAnswer()
    },
    writeHead() {},
    end() {},
    on() {},
  } as unknown as ServerResponse
  return derivedContext(ctx, res)
}

/**
 * A second RequestContext over the same request that answers through `res`: what the request
 * looks like after routing and hooks (host, path, query, route, params, upstream group, the
 * hooks' view), its decision trace — but its own response and outcome fields.
 */
export function derivedContext(ctx: RequestContext, res: ServerResponse): RequestContext {
  const view = new RequestContext(ctx.req, res, ctx.generation)
  view.host = ctx.host
  view.path = ctx.path
  view.query = ctx.query
  view.route = ctx.route
  view.params = ctx.params
  view.upstreamGroup = ctx.upstreamGroup
  view.hooks = ctx.hooks
  view.routeHooks = ctx.routeHooks
  view.trace = ctx.trace // the upstream exchange belongs to the client's decision trace
  return view
}

/** Passes a sink's events on, first copying the chosen server and any error to the client's context (access log). */
export class ReportingSink implements CacheSink {
  /** The inner sink's, when it has one (it keeps no chunk). */
  readonly chunkHolder: ChunkHolder | undefined

  constructor(readonly ctx: RequestContext, readonly view: RequestContext, readonly inner: CacheSink) {
    this.chunkHolder = inner.chunkHolder
  }

  #report(): void {
    this.ctx.server = this.view.server
    if (this.view.error !== undefined) this.ctx.error ??= this.view.error
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    this.#report()
    return this.inner.head(status, headers, resume)
  }

  interim(status: number, headers: string[]): void {
    this.inner.interim?.(status, headers)
  }

  data(chunk: Buffer): boolean {
    return this.inner.data(chunk)
  }

  end(): void {
    this.inner.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.#report()
    this.inner.error(failure, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    this.#report()
    this.inner.fail(status, reason, started)
  }

  abort(): void {
    this.inner.abort()
  }

  veto(): void {
    this.inner.veto?.()
  }
}

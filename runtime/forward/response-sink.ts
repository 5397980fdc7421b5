/**
 * Where an upstream response goes. The forwarder hands the final response to a sink;
 * the default ClientSink streams it to the client. Other layers (the cache) wrap or
 * replace it to see the response without the forwarder knowing about them.
 */
import { ServerResponse } from 'node:http'
import type { RequestContext, FrontResponse } from '../context.js'
import { FastResponse } from '../adapters/node/fast-exchange.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import type { UpstreamFailure } from './upstream-error.js'
import { applyHeaderRules } from './response-headers.js'
import { sendError } from '../respond.js'
import { sendInterim } from './interim.js'
import type { ChunkState } from '../upstream-client/read-buffers.js'

export interface ResponseSink {
  /**
   * The final response head: hop-by-hop fields already removed, route response rules not
   * yet applied. `resume` restarts a body paused by `data` returning false. Return false to
   * abort the upstream exchange.
   */
  head(status: number, headers: string[], resume: () => void): boolean
  /** An interim (1xx) response before the head, hop-by-hop fields removed; only sinks with a client take it. */
  interim?(status: number, headers: string[]): void
  /** A body chunk; return false to pause until `resume` is called. */
  data(chunk: Buffer): boolean
  end(): void
  /** The exchange failed; `started` says whether `head` had been called. */
  error(failure: UpstreamFailure, started: boolean): void
  /**
   * Only for a sink that keeps no chunk once it is written out: whether those given to `data`
   * are still referenced (UpstreamHandler.chunkState). The upstream client reuses the buffers
   * they are views of once this says 'released', so it must never say so early. Called as a method.
   */
  chunkState?: (() => ChunkState) | undefined
}

/** Streams the response to the client, applying the route's response header rules. */
export class ClientSink implements ResponseSink {
  /** Only when writing to a client's own response: a stand-in (a hook's capture) may keep chunks. */
  readonly chunkState: (() => ChunkState) | undefined

  constructor(readonly ctx: RequestContext, readonly rules: ResolvedHeaderRules | undefined) {
    const res = ctx.res
    this.chunkState = res instanceof FastResponse || res instanceof ServerResponse ? clientChunkState : undefined
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    const res = this.ctx.res
    if (res.destroyed) return false
    this.ctx.status = status
    try {
      res.writeHead(status, this.rules ? applyHeaderRules(headers, this.rules) : headers)
    } catch (err) {
      // A header Node refuses to send (invalid characters): the upstream's fault.
      this.ctx.status = 0
      sendError(this.ctx, 502, `invalid upstream response header: ${(err as Error).message}`)
      return false
    }
    res.on('drain', resume)
    return true
  }

  interim(status: number, headers: string[]): void {
    sendInterim(this.ctx, status, headers)
  }

  data(chunk: Buffer): boolean {
    this.ctx.bytes += chunk.length
    return this.ctx.res.write(chunk)
  }

  end(): void {
    this.ctx.res.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    failClient(this.ctx, failure.status, failure.reason, started)
  }
}

/** ClientSink's chunkState (a function shared by all, called as a method: no closure per request). */
function clientChunkState(this: ClientSink): ChunkState {
  return writeState(this.ctx.res)
}

/**
 * Whether everything written to `res` has gone to the kernel: its last write is done, or
 * neither it nor its socket holds a byte ('released'); a write not yet done keeps its buffers
 * ('held'). A socket destroyed with writes pending (or detached) is not trusted: 'lost'.
 */
function writeState(res: FrontResponse): ChunkState {
  if (res.writableFinished) return 'released'
  const socket = res.socket
  if (socket == null || socket.destroyed) return 'lost'
  return res.writableLength === 0 ? 'released' : 'held'
}

/**
 * Answers the client of a failed upstream exchange (every sink that has a client uses this):
 * a started response is cut off, a client that has gone gets nothing, any other gets the error
 * (`extra`: fields to add to it).
 */
export function failClient(ctx: RequestContext, status: number, reason: string, started: boolean, extra?: string[]): void {
  if (started) {
    // Never a clean-looking truncated response: abort the client connection.
    ctx.error = `${reason} (after response started)`
    ctx.res.destroy()
  } else if ((ctx.req.errored || ctx.req.destroyed) && !(ctx.req.complete && !ctx.res.destroyed)) {
    // (Node destroys a request once its body has been read to the end, and a streamed request
    // body is destroyed when its exchange is aborted, e.g. on a timeout: a body that had fully
    // arrived means the client is still there and gets the error.)
    ctx.error = 'client request aborted'
  } else {
    sendError(ctx, status, reason, extra)
  }
}

/**
 * Where an upstream response goes. The forwarder hands the final response to a sink;
 * the default ClientSink streams it to the client. Other layers (the cache) wrap or
 * replace it to see the response without the forwarder knowing about them.
 */
import { ServerResponse } from 'node:http'
import type { RequestContext } from '../context.js'
import { FastResponse } from '../adapters/node/fast-exchange.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import type { UpstreamFailure } from './upstream-error.js'
import { applyHeaderRules, assertWritableFields } from './response-headers.js'
import { sendError } from '../respond.js'
import { sendInterim } from './interim.js'
import type { ChunkHolder, ChunkState } from '../upstream-client/read-buffers.js'

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
   * Only for a sink that keeps no chunk once it is written out: what answers whether those given
   * to `data` are still referenced (UpstreamHandler.chunkHolder). The upstream client reuses the
   * buffers they are views of once it says 'released', so it must never say so early.
   */
  chunkHolder?: ChunkHolder | undefined
}

/**
 * Streams the response to the client, applying the route's response header rules.
 *
 * The head is held until the first body byte or the end. Neither front sends a head before
 * either anyway, so nothing reaches the client later for it; but an upstream that closes, resets
 * or stalls right after its head still gets the client a 502 or 504 (failClient), not a
 * connection cut with nothing on it.
 */
export class ClientSink implements ResponseSink, ChunkHolder {
  /** Itself, when writing to a client's own response: a stand-in (a hook's capture) may keep chunks. */
  readonly chunkHolder: ChunkHolder | undefined
  #status = 0
  /** The head not written yet. */
  #headers: string[] | undefined

  constructor(readonly ctx: RequestContext, readonly rules: ResolvedHeaderRules | undefined) {
    const res = ctx.res
    this.chunkHolder = res instanceof FastResponse || res instanceof ServerResponse ? this : undefined
  }

  /**
   * Whether everything written to the response has gone to the kernel: its last write is done,
   * or neither it nor its socket holds a byte ('released'); a write not yet done keeps its
   * buffers ('held'). A socket destroyed with writes pending (or detached) is not trusted: 'lost'.
   */
  chunkState(): ChunkState {
    const res = this.ctx.res
    if (res.writableFinished) return 'released'
    const socket = res.socket
    if (socket == null || socket.destroyed) return 'lost'
    return res.writableLength === 0 ? 'released' : 'held'
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    const res = this.ctx.res
    if (res.destroyed) return false
    const list = this.rules ? applyHeaderRules(headers, this.rules) : headers
    // node:http (and a hook's capture) refuse some values in writeHead (invalid characters): the
    // upstream's fault, answered now. The fast front writes what llhttp let through as it is.
    if (!(res instanceof FastResponse)) {
      try {
        assertWritableFields(list)
      } catch (err) {
        sendError(this.ctx, 502, `invalid upstream response header: ${(err as Error).message}`)
        return false
      }
    }
    this.ctx.status = status
    this.#status = status
    this.#headers = list
    res.on('drain', resume)
    return true
  }

  interim(status: number, headers: string[]): void {
    sendInterim(this.ctx, status, headers)
  }

  data(chunk: Buffer): boolean {
    if (this.#headers !== undefined && !this.#writeHead()) return false
    this.ctx.bytes += chunk.length
    return this.ctx.res.write(chunk)
  }

  end(): void {
    if (this.#headers !== undefined && !this.#writeHead()) return
    this.ctx.res.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.#headers = undefined // (failClient answers with the error when the head was still held)
    failClient(this.ctx, failure.status, failure.reason, started)
  }

  /**
   * Writes the held head; false if the response was answered otherwise meanwhile, or cannot carry
   * this head (a status an onUpstreamResponse hook set out of range, one a capture refuses: a
   * 502, the upstream's or the hook's fault) — the exchange is then stopped.
   */
  #writeHead(): boolean {
    const headers = this.#headers!
    this.#headers = undefined
    const ctx = this.ctx
    const res = ctx.res
    if (res.headersSent || res.destroyed) {
      ctx.onClientAbort?.()
      return false
    }
    try {
      res.writeHead(this.#status, headers)
      return true
    } catch (err) {
      ctx.status = 0
      sendError(ctx, 502, `invalid upstream response head: ${(err as Error).message}`)
      ctx.onClientAbort?.()
      return false
    }
  }
}

/**
 * Answers the client of a failed upstream exchange (every sink that has a client uses this):
 * a started response is cut off, a client that has gone gets nothing, any other gets the error
 * (`extra`: fields to add to it). `started`: the upstream's head was taken; the client's response
 * has started only if its head was written too (ClientSink holds it until the first body byte).
 */
export function failClient(ctx: RequestContext, status: number, reason: string, started: boolean, extra?: string[]): void {
  if (started && ctx.res.headersSent) {
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

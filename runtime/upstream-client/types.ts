/** The upstream client's contract with its callers (the forwarder, `ctx.forward()`, health checks). */
import type { Readable } from 'node:stream'
import type { ChunkHolder } from './read-buffers.js'

export interface UpstreamRequest {
  /** Origin-form target (`/path?query`). */
  path: string
  method: string
  /**
   * Flat [name, value, …]. `Host` here replaces the pool's; `Content-Length` declares the length
   * of a streamed body; other framing and connection fields are ignored (the client owns them).
   */
  headers: readonly string[]
  /**
   * null: no body. A Buffer: sent with Content-Length (it can be sent again, so a stale
   * keep-alive connection is retried). A Readable: streamed with backpressure, with the
   * declared Content-Length (enforced) or else chunked.
   */
  body: Buffer | Readable | null
}

/**
 * One request's callbacks. Exactly one of onComplete/onError ends it; nothing is called after.
 * Callbacks may run synchronously inside `dispatch` (onConnect always does; onError does for
 * an invalid request or a closed pool).
 */
export interface UpstreamHandler {
  /** Called once, first. `abort(err)` ends the request with onError(err), wherever it is (queued, connecting, streaming). */
  onConnect(abort: (err?: Error) => void): void
  /**
   * The final response head (1xx interim responses go to onInterim): [name, value, …] as latin1
   * strings, repeated fields separate, the array is the handler's. Return false to pause the
   * body until `resume()` is called.
   */
  onHeaders(statusCode: number, headers: string[], resume: () => void): boolean
  /** An interim response (102–199: not 100 Continue, not 101) before the final one, same head format. */
  onInterim?(statusCode: number, headers: string[]): void
  /**
   * A body chunk. Return false to pause reading from the upstream. The handler may keep it,
   * unless it has a `chunkHolder`: then the chunk may be a view of a buffer the connection
   * reads into again once that says 'released' (upstream-client/read-buffers.ts).
   */
  onData(chunk: Buffer): boolean
  /**
   * Only for handlers that keep no chunk once written out: what answers for the chunks given to
   * onData (ChunkHolder.chunkState) — 'released' when none is referenced any more (written out
   * to the kernel, or dropped), never while one may still be read; 'held' while some may be;
   * 'lost' when that will never be known. Asked possibly long after onComplete/onError.
   */
  chunkHolder?: ChunkHolder | undefined
  onComplete(): void
  onError(err: Error): void
}

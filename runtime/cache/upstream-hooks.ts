// What a route's lifecycle hooks do to the cache layer's upstream exchanges. The cache knows
// nothing of hooks: the hooked pipeline (pipeline/hooked-route.ts) hands it a CacheUpstreamHooks,
// and the layer runs every request it sends upstream — miss, revalidation, background refresh,
// pass-through — through it. Hits never go upstream, so they never reach it.
//
//   request ──▶ hooks.request (onUpstreamRequest) ──▶ forwardRequest ──▶ upstream
//   response head ──▶ HookedExchangeSink: hooks.response (onUpstreamResponse) ──▶ the cache's sink
//                     (the body waits meanwhile; a veto makes the sink leave the store alone)
import type { Readable } from 'node:stream'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import type { CacheSink } from './cache-sink.js'
import { HeldBody } from './held-body.js'

/** A request the cache is about to send upstream. */
export interface CacheUpstreamRequest {
  method: string
  /** Path and query, origin-form. */
  path: string
  /** Fields the cache sets (validators), replacing the client's fields of those names. */
  setHeaders: ReadonlyArray<readonly [string, string]>
  /** The client's fields (lowercase names) the cache leaves out: its preconditions, which it answers itself. */
  dropHeaders?: readonly string[]
  /** Headers to send instead of the client's (flat [name, value, …]); `setHeaders` still apply on top. */
  rawHeaders?: readonly string[]
  /** A body to send instead of the client's (null: none). */
  body?: Readable | null
  /** A server of the group to use instead of the balancer's pick. */
  server?: string
}

/** The upstream's response head after the hooks, and whether it may be stored. */
export interface CacheUpstreamResponse {
  status: number
  headers: string[]
  cacheable: boolean
}

export interface CacheUpstreamHooks {
  /**
   * The request about to go upstream: resolves with what to send. `background` is true for a
   * stale-while-revalidate refresh (no client waits for it). Rejects when a hook failed: the
   * implementation has then answered the client itself, and the cache abandons the exchange.
   */
  request(out: CacheUpstreamRequest, background: boolean): Promise<CacheUpstreamRequest>
  /** The upstream's response head: resolves with the head to use. Rejects like `request`. */
  response(status: number, headers: string[], background: boolean): Promise<CacheUpstreamResponse>
}

/**
 * Runs `hooks.response` on the head before `inner` sees it. Body chunks that arrive meanwhile
 * are held (and the upstream paused), never dropped; when the hooks fail, the upstream exchange
 * is aborted (`abortUpstream`) and `inner` abandoned (a coalescing lock released, the store
 * branch failed) without answering anyone: the hooks' side has answered the client.
 */
export class HookedExchangeSink implements CacheSink {
  #gone = false
  /** The body, held while the hooks work on the head. */
  readonly #body: HeldBody

  constructor(
    readonly inner: CacheSink,
    readonly hooks: CacheUpstreamHooks,
    readonly background: boolean,
    readonly abortUpstream: () => void,
  ) {
    this.#body = new HeldBody(inner)
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    this.hooks.response(status, headers, this.background).then((answer) => {
      if (this.#gone) return
      if (!answer.cacheable) this.inner.veto?.()
      this.#body.open()
      if (!this.inner.head(answer.status, answer.headers, resume)) return this.#abandon()
      this.#body.replay(resume)
    }, () => this.#abandon())
    return true
  }

  #abandon(): void {
    if (this.#gone) return
    this.#gone = true
    this.#body.drop()
    this.abortUpstream()
    this.inner.abort()
  }

  interim(status: number, headers: string[]): void {
    this.inner.interim?.(status, headers)
  }

  data(chunk: Buffer): boolean {
    if (this.#gone) return false
    return this.#body.data(chunk)
  }

  end(): void {
    if (this.#gone) return
    this.#body.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    if (this.#gone) return
    if (started && !this.#body.ready) {
      // Broke off while the hooks held the head: for `inner` nothing has started yet.
      this.#gone = true
      return this.inner.error(failure, false)
    }
    this.inner.error(failure, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    if (this.#gone) return
    this.inner.fail(status, reason, started && this.#body.ready)
  }

  abort(): void {
    this.#gone = true
    this.#body.drop()
    this.inner.abort()
  }

  veto(): void {
    this.inner.veto?.()
  }
}

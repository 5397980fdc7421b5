// ResponseSinks the cache layer hands to `forwardRequest`:
// - TeeSink: streams to the client (ClientSink, its backpressure) and feeds the store a branch.
//   A client precondition (the cache never forwards those) that the response being stored
//   satisfies, or fails, is answered at once (304 / 412) while the store keeps reading the body.
// - PassSink: streams to the client untouched but for Cache-Status; after a successful unsafe
//   request it invalidates the target URI (and same-origin Location / Content-Location) first.
// - StoreSink: no client (background refresh): stores, or freshens on 304.
// A route's onUpstreamResponse hook may veto storing (`cacheable = false`): the sink is told
// before the head arrives (`veto`) and then leaves the store alone — nothing put, refreshed or
// deleted — while the client still gets the response.
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import type { ResponseSink } from '../forward/response-sink.js'
import { ClientSink, failClient } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import type { ChunkHolder } from '../upstream-client/read-buffers.js'
import { BodyBranch } from './body-branch.js'
import { cacheStatus, type ForwardReason } from './cache-status.js'
import type { CacheOptions } from './cache-options.js'
import { isNotModified } from './conditional.js'
import { headerLines, splitList, toPairs, type FieldList } from './headers.js'
import { isStorable, newEntry, type NotStorableReason, type RequestLike } from './policy.js'
import type { CacheStore } from './store.js'
import { writeNotModified } from './serve-entry.js'

/** A sink the layer can also fail itself (no server available) or abort (client gone). */
export interface CacheSink extends ResponseSink {
  fail(status: number, reason: string, started: boolean): void
  abort(): void
  /** Hooks vetoed storing the response whose head comes next: do not touch the store for it. */
  veto?(): void
}

/** Why a response is not stored: the policy's reason, or a hook's veto. Doubles as a Cache-Status detail. */
export type NotStoredReason = NotStorableReason | 'vetoed'

/**
 * Reasons that come from the request, not the response: another client's request for the same
 * key may well be stored, so they must not turn coalescing off for the key (any client could).
 */
const REQUEST_REASONS: ReadonlySet<NotStoredReason> = new Set<NotStoredReason>(['method', 'request-no-store', 'authorization'])

/** Where and how a response is stored. */
export interface StoreTarget {
  store: CacheStore
  key: string
  /** The request as the store sees it: method GET (HEAD fills the GET entry). */
  req: RequestLike
  options: CacheOptions
  tags: readonly string[]
  maxObjectSize: number
  now: () => number
}

/** Purge tags named by the response: Cache-Tag (comma-separated), Surrogate-Key (space-separated). */
export function responseTags(headers: FieldList): string[] {
  const out: string[] = []
  for (const v of headerLines(headers, 'cache-tag')) for (const t of splitList(v)) out.push(t)
  for (const v of headerLines(headers, 'surrogate-key')) for (const t of v.split(/\s+/)) if (t !== '') out.push(t)
  return out
}

/**
 * Starts storing a response when the policy allows: the branch to feed, or why not.
 * `done(stored, notStored)` is called exactly once, when the store has the entry or never will
 * (`notStored`: the reason, when the response was refused up front — synchronously).
 */
export function startStore(
  t: StoreTarget, status: number, headers: FieldList, requestTime: number,
  done: (stored: boolean, notStored?: NotStoredReason) => void, vetoed = false,
): BodyBranch | NotStoredReason {
  const refuse = (reason: NotStoredReason): NotStoredReason => {
    done(false, reason)
    return reason
  }
  if (vetoed) return refuse('vetoed')
  const res = { status, headers }
  const responseTime = t.now()
  const s = isStorable(t.req, res, t.options, responseTime)
  if (!s.storable) return refuse(s.reason)
  const entry = newEntry({ key: t.key, req: t.req, res, requestTime, responseTime, tags: [...t.tags, ...responseTags(headers)] }, t.options)
  if (!entry) return refuse('vary-star')
  const branch = new BodyBranch(t.maxObjectSize)
  void t.store.put(entry, branch).then(done, () => done(false))
  return branch
}

/** The error the client gets when the exchange fails (503: as the forwarder's own, with Retry-After). */
function failCached(ctx: RequestContext, status: number, reason: string, started: boolean, member: string): void {
  failClient(ctx, status, reason, started, status === 503 ? ['retry-after', '1', 'cache-status', member] : ['cache-status', member])
}

export class TeeSink implements CacheSink {
  readonly #client: ClientSink
  #branch: BodyBranch | undefined
  #settled = false
  /** The client got its answer from the head (304 / 412): the body only goes to the store. */
  #answered = false

  constructor(
    readonly ctx: RequestContext,
    readonly rules: ResolvedHeaderRules | undefined,
    readonly target: StoreTarget,
    readonly fwd: ForwardReason,
    readonly requestTime: number,
    /**
     * Called once: stored or not, and whether the response itself was unstorable (not the
     * request: see REQUEST_REASONS) — releases a coalescing lock.
     */
    readonly onStored: (stored: boolean, unstorable: boolean) => void,
    /** The client's request, whose preconditions (not sent upstream) a stored response answers. */
    readonly client?: RequestLike,
  ) {
    this.#client = new ClientSink(ctx, rules)
  }

  #done = (stored: boolean): void => {
    if (this.#settled) return
    this.#settled = true
    this.onStored(stored, this.#unstorable)
  }

  #unstorable = false
  #vetoed = false

  veto(): void {
    this.#vetoed = true
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    const pairs = toPairs(headers)
    const started = startStore(this.target, status, pairs, this.requestTime, (stored, notStored) => {
      if (notStored !== undefined && !REQUEST_REASONS.has(notStored)) this.#unstorable = true
      this.#done(stored)
    }, this.#vetoed)
    this.#branch = typeof started === 'string' ? undefined : started
    const detail = typeof started === 'string' ? started : undefined
    const member = cacheStatus({ fwd: this.fwd, fwdStatus: status, stored: this.#branch !== undefined, ...(detail ? { detail } : {}) })
    // The client's conditional, answered from what is being stored (as a hit would answer it).
    if (this.#branch !== undefined && this.client !== undefined && isNotModified(this.client, { status, headers: pairs, responseTime: this.target.now() })) {
      this.#answered = true
      writeNotModified(this.ctx, this.rules, pairs, undefined, member)
      return true
    }
    headers.push('cache-status', member)
    if (this.#client.head(status, headers, resume)) return true
    this.abort()
    return false
  }

  interim(status: number, headers: string[]): void {
    this.#client.interim(status, headers)
  }

  data(chunk: Buffer): boolean {
    this.#branch?.push(chunk)
    if (!this.#answered) return this.#client.data(chunk)
    // Answered already: the body is for the store only. Once it cannot have it (too large), the
    // exchange is stopped as if the client had left, instead of drained for nobody.
    if (!this.#branch!.alive) this.ctx.onClientAbort?.()
    return true
  }

  end(): void {
    this.#branch?.end()
    if (!this.#answered) this.#client.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.fail(failure.status, failure.reason, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    this.abort()
    if (!this.#answered) failCached(this.ctx, status, reason, started, cacheStatus({ fwd: this.fwd }))
  }

  abort(): void {
    this.#branch?.fail()
    this.#done(false)
  }
}

export class PassSink implements CacheSink {
  readonly #client: ClientSink
  #pending: Promise<unknown> | undefined
  /** The client sink's: nothing is kept here (a pass-through Range or POST response can be large). */
  readonly chunkHolder: ChunkHolder | undefined

  constructor(
    readonly ctx: RequestContext,
    rules: ResolvedHeaderRules | undefined,
    readonly member: string,
    /** After a 2xx/3xx response head: start invalidations; the client's response ends after them. */
    readonly invalidate?: (status: number, headers: FieldList) => Promise<unknown>,
  ) {
    this.#client = new ClientSink(ctx, rules)
    this.chunkHolder = this.#client.chunkHolder
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    if (this.invalidate && status >= 200 && status < 400) this.#pending = this.invalidate(status, toPairs(headers))
    headers.push('cache-status', this.member)
    return this.#client.head(status, headers, resume)
  }

  interim(status: number, headers: string[]): void {
    this.#client.interim(status, headers)
  }

  data(chunk: Buffer): boolean {
    return this.#client.data(chunk)
  }

  end(): void {
    const end = (): void => this.#client.end()
    if (this.#pending) void this.#pending.then(end, end)
    else end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.fail(failure.status, failure.reason, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    failCached(this.ctx, status, reason, started, this.member)
  }

  abort(): void {}
}

/**
 * A background refresh (stale-while-revalidate): no client. A 304 goes to `onNotModified`; a
 * storable response is stored; any other non-5xx response removes the stale entry; a 5xx keeps
 * it. `done` runs once at the end.
 */
export class StoreSink implements CacheSink {
  #branch: BodyBranch | undefined
  #notModified: FieldList | undefined
  /** Work to wait for before `done` (dropping an entry that became unstorable). */
  #pending: Promise<unknown> | undefined
  #finished = false
  #vetoed = false

  constructor(
    readonly target: StoreTarget,
    readonly requestTime: number,
    readonly onNotModified: (headers: FieldList) => Promise<unknown>,
    readonly onUnstorable: () => Promise<unknown>,
    readonly done: () => void,
  ) {}

  #finish = (): void => {
    if (this.#finished) return
    this.#finished = true
    this.done()
  }

  veto(): void {
    this.#vetoed = true
  }

  head(status: number, headers: string[]): boolean {
    if (this.#vetoed) return true // passed over: the stale entry stays as it is
    const pairs = toPairs(headers)
    if (status === 304) this.#notModified = pairs
    else if (status < 500) {
      const started = startStore(this.target, status, pairs, this.requestTime, () => {
        if (this.#branch) this.#finish()
      })
      if (typeof started === 'string') this.#pending = this.onUnstorable()
      else this.#branch = started
    }
    return true
  }

  data(chunk: Buffer): boolean {
    if (!this.#branch) return true
    this.#branch.push(chunk) // no client to pace us: a dead branch just drops chunks
    return true
  }

  end(): void {
    if (this.#notModified) void this.onNotModified(this.#notModified).finally(this.#finish)
    else if (this.#branch) this.#branch.end() // finished when the store has it
    else void Promise.resolve(this.#pending).finally(this.#finish)
  }

  error(): void {
    this.abort()
  }

  fail(): void {
    this.abort()
  }

  abort(): void {
    if (this.#branch) this.#branch.fail()
    else this.#finish()
  }
}

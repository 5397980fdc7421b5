// ResponseSinks the cache layer hands to `forwardRequest`:
// - TeeSink: streams to the client (ClientSink, its backpressure) and feeds the store a branch.
// - PassSink: streams to the client untouched but for Cache-Status; after a successful unsafe
//   request it invalidates the target URI (and same-origin Location / Content-Location) first.
// - StoreSink: no client (background refresh): stores, or freshens on 304.
// A route's onUpstreamResponse hook may veto storing (`cacheable = false`): the sink is told
// before the head arrives (`veto`) and then leaves the store alone — nothing put, refreshed or
// deleted — while the client still gets the response.
import type { RequestContext } from '../context.js'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import type { ResponseSink } from '../forward/response-sink.js'
import { ClientSink } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import { sendError } from '../respond.js'
import { BodyBranch } from './body-branch.js'
import { cacheStatus, type ForwardReason } from './cache-status.js'
import type { CacheOptions } from './cache-options.js'
import { HEURISTIC_STATUSES } from './freshness.js'
import { headerLines, splitList, type FieldList } from './headers.js'
import { isStorable, newEntry, type NotStorableReason, type RequestLike } from './policy.js'
import type { CacheStore } from './store.js'
import { toPairs } from './serve-entry.js'

/** A sink the layer can also fail itself (no server available) or abort (client gone). */
export interface CacheSink extends ResponseSink {
  fail(status: number, reason: string, started: boolean): void
  abort(): void
  /** Hooks vetoed storing the response whose head comes next: do not touch the store for it. */
  veto?(): void
}

/** Why a response is not stored: the policy's reason, or a hook's veto. Doubles as a Cache-Status detail. */
export type NotStoredReason = NotStorableReason | 'vetoed'

/** Where and how a response is stored. */
export interface StoreTarget {
  store: CacheStore
  key: string
  /** The request as the store sees it: method GET (HEAD fills the GET entry). */
  req: RequestLike
  options: CacheOptions
  /** `options` without `ttl`: the route ttl only applies to heuristically cacheable statuses. */
  optionsNoTtl: CacheOptions
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
 * `done(stored)` is called exactly once, when the store has the entry or never will.
 */
export function startStore(
  t: StoreTarget, status: number, headers: FieldList, requestTime: number, done: (stored: boolean) => void, vetoed = false,
): BodyBranch | NotStoredReason {
  if (vetoed) {
    done(false)
    return 'vetoed'
  }
  const res = { status, headers }
  const options = HEURISTIC_STATUSES.has(status) ? t.options : t.optionsNoTtl
  const s = isStorable(t.req, res, options)
  if (!s.storable) {
    done(false)
    return s.reason
  }
  const entry = newEntry({ key: t.key, req: t.req, res, requestTime, responseTime: t.now(), tags: [...t.tags, ...responseTags(headers)] }, options)
  if (!entry) {
    done(false)
    return 'vary-star'
  }
  const branch = new BodyBranch(t.maxObjectSize)
  void t.store.put(entry, branch).then(done, () => done(false))
  return branch
}

function failClient(ctx: RequestContext, status: number, reason: string, started: boolean, member: string): void {
  if (started) {
    ctx.error = `${reason} (after response started)`
    ctx.res.destroy()
  } else if (ctx.req.errored || ctx.req.destroyed) {
    ctx.error = 'client request aborted'
  } else {
    sendError(ctx, status, reason, status === 503 ? ['retry-after', '1', 'cache-status', member] : ['cache-status', member])
  }
}

export class TeeSink implements CacheSink {
  readonly #client: ClientSink
  #branch: BodyBranch | undefined
  #settled = false

  constructor(
    readonly ctx: RequestContext,
    rules: ResolvedHeaderRules | undefined,
    readonly target: StoreTarget,
    readonly fwd: ForwardReason,
    readonly requestTime: number,
    /** Called once: stored or not, and whether the response was unstorable (releases a coalescing lock). */
    readonly onStored: (stored: boolean, unstorable: boolean) => void,
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
    const started = startStore(this.target, status, toPairs(headers), this.requestTime, (stored) => {
      if (this.#branch === undefined && !stored) this.#unstorable = true
      this.#done(stored)
    }, this.#vetoed)
    this.#branch = typeof started === 'string' ? undefined : started
    const detail = typeof started === 'string' ? started : undefined
    headers.push('cache-status', cacheStatus({ fwd: this.fwd, fwdStatus: status, stored: this.#branch !== undefined, ...(detail ? { detail } : {}) }))
    if (this.#client.head(status, headers, resume)) return true
    this.abort()
    return false
  }

  data(chunk: Buffer): boolean {
    this.#branch?.push(chunk)
    return this.#client.data(chunk)
  }

  end(): void {
    this.#branch?.end()
    this.#client.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.fail(failure.status, failure.reason, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    this.abort()
    failClient(this.ctx, status, reason, started, cacheStatus({ fwd: this.fwd }))
  }

  abort(): void {
    this.#branch?.fail()
    this.#done(false)
  }
}

export class PassSink implements CacheSink {
  readonly #client: ClientSink
  #pending: Promise<unknown> | undefined

  constructor(
    readonly ctx: RequestContext,
    rules: ResolvedHeaderRules | undefined,
    readonly member: string,
    /** After a 2xx/3xx response head: start invalidations; the client's response ends after them. */
    readonly invalidate?: (status: number, headers: FieldList) => Promise<unknown>,
  ) {
    this.#client = new ClientSink(ctx, rules)
  }

  head(status: number, headers: string[], resume: () => void): boolean {
    if (this.invalidate && status >= 200 && status < 400) this.#pending = this.invalidate(status, toPairs(headers))
    headers.push('cache-status', this.member)
    return this.#client.head(status, headers, resume)
  }

  data(chunk: Buffer): boolean {
    return this.#client.data(chunk)
  }

  end(): void {
    if (this.#pending) void this.#pending.then(() => this.#client.end())
    else this.#client.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    this.fail(failure.status, failure.reason, started)
  }

  fail(status: number, reason: string, started: boolean): void {
    failClient(this.ctx, status, reason, started, this.member)
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

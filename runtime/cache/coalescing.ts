// Request coalescing ("collapsed forwarding"): the first miss for a key goes upstream (the
// leader); later misses for the same key wait until the leader's response is stored (or known
// not to be storable), then look the store up again. One timer per key bounds the wait: when it
// fires the waiters go upstream themselves.
//
// A key whose response turned out not storable is remembered for a while ("hit-for-miss", as
// Varnish calls it): misses for it go upstream in parallel instead of queueing behind each other
// for a response that will never be shared.

interface Lock {
  promise: Promise<void>
  release: () => void
}

/** How long a key that got an unstorable response is not coalesced. */
export const UNCACHEABLE_MS = 30_000
const MAX_UNCACHEABLE = 10_000

export class Coalescer {
  readonly #locks = new Map<string, Lock>()
  readonly #uncacheable = new Map<string, number>()

  constructor(readonly timeoutMs: number, readonly now: () => number = Date.now) {}

  /** Whether misses for `key` should wait for one another. */
  shouldCoalesce(key: string): boolean {
    if (this.#uncacheable.size === 0) return true
    const until = this.#uncacheable.get(key)
    if (until === undefined) return true
    if (until > this.now()) return false
    this.#uncacheable.delete(key)
    return true
  }

  /** The response for `key` could not be stored: stop coalescing it for a while. */
  markUncacheable(key: string): void {
    if (this.#uncacheable.size >= MAX_UNCACHEABLE) this.#uncacheable.clear()
    this.#uncacheable.set(key, this.now() + UNCACHEABLE_MS)
  }

  /** A promise to wait on when another request already leads `key`, else undefined. */
  waitFor(key: string): Promise<void> | undefined {
    return this.#locks.get(key)?.promise
  }

  /** Takes the lead for `key`; call the returned function once (extra calls are no-ops). */
  lead(key: string): () => void {
    let resolve!: () => void
    const promise = new Promise<void>((r) => (resolve = r))
    let done = false
    const release = (): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (this.#locks.get(key) === lock) this.#locks.delete(key)
      resolve()
    }
    const timer = setTimeout(release, this.timeoutMs)
    timer.unref()
    const lock: Lock = { promise, release }
    this.#locks.set(key, lock)
    return release
  }

  get size(): number {
    return this.#locks.size
  }
}

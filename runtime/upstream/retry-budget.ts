/**
 * Retry budget (Finagle's/Linkerd's idea): over the last 10 seconds, retries may add at most
 * `ratio` × requests, plus `minPerSecond` × 10 so a quiet group can still retry. A retry storm
 * against a failing group is cut off instead of multiplying the load by `tries`. Ten one-second
 * buckets in typed arrays: recording a request is a few integer ops and allocates nothing.
 */
const BUCKETS = 10

export class RetryBudget {
  readonly #second = new Float64Array(BUCKETS).fill(-1)
  readonly #requests = new Uint32Array(BUCKETS)
  readonly #retries = new Uint32Array(BUCKETS)

  constructor(readonly ratio: number, readonly minPerSecond: number) {}

  /** A first attempt started at `now` (performance.now() ms). */
  recordRequest(now: number): void {
    this.#requests[this.#bucket(now)]!++
  }

  /** Takes one retry from the budget if there is room; false when the budget is spent. */
  tryRetry(now: number): boolean {
    const current = this.#bucket(now)
    const second = this.#second[current]!
    let requests = 0
    let retries = 0
    for (let i = 0; i < BUCKETS; i++) {
      if (this.#second[i]! > second - BUCKETS) {
        requests += this.#requests[i]!
        retries += this.#retries[i]!
      }
    }
    if (retries + 1 > this.ratio * requests + this.minPerSecond * BUCKETS) return false
    this.#retries[current]!++
    return true
  }

  #warnedAt = -Infinity

  /** True at most once a second: for logging a spent budget without flooding the log. */
  shouldWarn(now: number): boolean {
    if (now - this.#warnedAt < 1000) return false
    this.#warnedAt = now
    return true
  }

  #bucket(now: number): number {
    const second = Math.floor(now / 1000)
    const i = second % BUCKETS
    if (this.#second[i] !== second) {
      this.#second[i] = second
      this.#requests[i] = 0
      this.#retries[i] = 0
    }
    return i
  }
}

/** Restart delays for a worker slot: immediate the first time, then doubling up to a cap. */
export class Backoff {
  #failures = 0

  constructor(readonly baseMs = 1000, readonly maxMs = 30_000, readonly stableMs = 10_000) {}

  /** The delay before the next start, given how long (ms) the worker that died had been ready. */
  next(readyForMs: number | undefined): number {
    if (readyForMs !== undefined && readyForMs >= this.stableMs) this.#failures = 0
    const delay = this.#failures === 0 ? 0 : Math.min(this.maxMs, this.baseMs * 2 ** (this.#failures - 1))
    this.#failures++
    return delay
  }
}

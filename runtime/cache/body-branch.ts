// The store's branch of a response body being streamed to the client (the tee). The forwarder
// pushes chunks as they arrive; the store pulls them at its own pace. The client's backpressure
// governs the upstream, never the store's: chunks queue here, bounded by `limit` (the route's
// maxObjectSize) — past it, or when the exchange fails, the branch errors and the store gives
// up (`put` resolves false). If the store stops reading (its own size limit), the branch drops
// whatever arrives afterwards.

export class BodyBranch implements AsyncIterable<Uint8Array> {
  #queue: Buffer[] = []
  #bytes = 0
  #state: 'open' | 'ended' | 'failed' | 'abandoned' = 'open'
  #wake: (() => void) | undefined

  constructor(readonly limit: number) {}

  /** False once the store can no longer get the whole body. */
  get alive(): boolean {
    return this.#state === 'open' || this.#state === 'ended'
  }

  push(chunk: Buffer): void {
    if (this.#state !== 'open') return
    this.#bytes += chunk.length
    if (this.#bytes > this.limit) return this.fail()
    this.#queue.push(chunk)
    this.#notify()
  }

  end(): void {
    if (this.#state !== 'open') return
    this.#state = 'ended'
    this.#notify()
  }

  fail(): void {
    if (this.#state !== 'open' && this.#state !== 'ended') return
    this.#state = 'failed'
    this.#queue = []
    this.#notify()
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          if (this.#state === 'failed') throw new Error('response body incomplete or too large for the cache')
          const chunk = this.#queue.shift()
          if (chunk !== undefined) return { done: false, value: chunk }
          if (this.#state !== 'open') return { done: true, value: undefined }
          await new Promise<void>((resolve) => (this.#wake = resolve))
        }
      },
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        if (this.#state === 'open' || this.#state === 'ended') this.#state = 'abandoned'
        this.#queue = []
        return { done: true, value: undefined }
      },
    }
  }
}

// A response body held back while its head is still being worked on (async onUpstreamResponse
// hooks, on routes with and without cache): the chunks that arrive meanwhile are kept in order,
// with the upstream paused, and replayed into `out` once the head has gone on. Never buffered
// whole: `data` returning false pauses the upstream after its first chunk.
import type { ResponseSink } from '../forward/response-sink.js'

export class HeldBody {
  #ready = false
  #chunks: Buffer[] | undefined
  #ended = false

  constructor(readonly out: ResponseSink) {}

  /** True once the head has gone on to `out`: the body then passes straight through. */
  get ready(): boolean {
    return this.#ready
  }

  /** Stops holding: from now on chunks and the end go straight to `out`. Call before `out.head`. */
  open(): void {
    this.#ready = true
  }

  data(chunk: Buffer): boolean {
    if (this.#ready) return this.out.data(chunk)
    this.#chunks ??= []
    this.#chunks.push(chunk)
    return false // hold the upstream until the head has gone on
  }

  end(): void {
    if (this.#ready) this.out.end()
    else this.#ended = true
  }

  /** After `open` and `out.head`: the held chunks, then the end if it came, else `resume` the upstream. */
  replay(resume: () => void): void {
    const chunks = this.#chunks
    this.#chunks = undefined
    if (chunks !== undefined) for (const chunk of chunks) this.out.data(chunk)
    if (this.#ended) this.out.end()
    else resume()
  }

  /** Lets go of the held chunks (the exchange is abandoned). */
  drop(): void {
    this.#chunks = undefined
  }
}

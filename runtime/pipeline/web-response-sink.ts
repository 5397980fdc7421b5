/**
 * A ResponseSink that turns the upstream response into a Web `Response` whose body is a
 * ReadableStream fed as chunks arrive (for `onResponse` hooks). Backpressure: `data` reports
 * the stream full when its queue passes the high-water mark; the stream's `pull` resumes the
 * upstream once the consumer has read.
 */
import type { ResponseSink } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'

const NULL_BODY = new Set([101, 103, 204, 205, 304])
const HIGH_WATER_MARK = 64 * 1024

export interface WebResponseReceiver {
  /** The response head arrived: the Response's body streams on as data comes. */
  response(response: Response): void
  /** The exchange failed before a response head (after it, the body stream errors instead). */
  failed(failure: UpstreamFailure): void
}

export class WebResponseSink implements ResponseSink {
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  #resume: (() => void) | undefined
  #paused = false

  constructor(readonly receiver: WebResponseReceiver, readonly method: string) {}

  head(status: number, headers: string[], resume: () => void): boolean {
    this.#resume = resume
    const h = new Headers()
    for (let i = 0; i < headers.length; i += 2) h.append(headers[i]!, headers[i + 1]!)
    const noBody = NULL_BODY.has(status) || this.method === 'HEAD'
    const body = noBody ? null : new ReadableStream<Uint8Array>({
      start: (controller) => void (this.#controller = controller),
      pull: () => {
        if (this.#paused) {
          this.#paused = false
          this.#resume?.()
        }
      },
    }, new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }))
    this.receiver.response(new Response(body, { status, headers: h }))
    return true
  }

  data(chunk: Buffer): boolean {
    const c = this.#controller
    if (!c) return true // no body expected (HEAD/204/304): drop
    c.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    if ((c.desiredSize ?? 1) > 0) return true
    this.#paused = true
    return false
  }

  end(): void {
    this.#controller?.close()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    if (started) this.#controller?.error(Object.assign(new Error(failure.reason), { status: failure.status }))
    else this.receiver.failed(failure)
  }
}

/**
 * A ResponseSink that turns the upstream response into a Web `Response` for `onResponse` hooks
 * (a ProxyResponse: its body becomes a ReadableStream only if something asks for it).
 *
 * The body (StreamedBody) is held here as it arrives, at most HELD_BYTES before the upstream is
 * paused, until one of three things happens:
 * - the hooks pass it on untouched: the proxy sends it straight to the client (`sendTo`: the
 *   ClientSink path, backpressure through res.write / 'drain') — no Web stream at all;
 * - something reads the Web stream (a transform, a tee, the fallback send): chunks go into it
 *   only as they are read (highWaterMark 0: `pull` means a reader is waiting), so the upstream
 *   is paused by the same bound;
 * - it is cancelled (a hook replaced the response): the rest flows on and is dropped, so the
 *   exchange still completes (and a cache teeing it still stores it).
 */
import type { RequestContext } from '../context.js'
import { ClientSink, type ResponseSink } from '../forward/response-sink.js'
import type { UpstreamFailure } from '../forward/upstream-error.js'
import { newProxyResponse, type ProxyResponse, type BodySource } from './proxy-response.js'

const NULL_BODY = new Set([101, 103, 204, 205, 304])
/** Body bytes held while nobody reads yet (hooks running), before the upstream is paused. */
const HELD_BYTES = 64 * 1024

/** Flat [name, value, …] lines as Web Headers; throws (TypeError) on a name or value Fetch refuses. */
export function toWebHeaders(headers: readonly string[]): Headers {
  const h = new Headers()
  for (let i = 0; i < headers.length; i += 2) h.append(headers[i]!, headers[i + 1]!)
  return h
}

/** Whether a response to `method` with `status` carries no body (a Response must then have none). */
export function hasNullBody(status: number, method: string): boolean {
  return NULL_BODY.has(status) || method === 'HEAD'
}

export interface WebResponseReceiver {
  /** The response head arrived: the Response's body streams on as data comes. */
  response(response: Response): void
  /** The exchange failed before a response head (after it, the body stream errors instead). */
  failed(failure: UpstreamFailure): void
}

/** A body with no bytes (HEAD, 204, 304): the client's response ends with its head. */
const NO_BODY: BodySource = {
  open: () => null,
  sendTo: (ctx, writeHead) => void (writeHead() && ctx.res.end()),
  cancel: () => {},
}

export class WebResponseSink implements ResponseSink {
  #body: StreamedBody | undefined

  constructor(readonly receiver: WebResponseReceiver, readonly method: string) {}

  head(status: number, headers: string[], resume: () => void): boolean {
    const body = hasNullBody(status, this.method) ? undefined : new StreamedBody(resume, false)
    let response: ProxyResponse
    try {
      response = newProxyResponse(status, headers, body ?? NO_BODY)
    } catch (err) {
      // A status Response refuses (outside 200–599, set by an onUpstreamResponse hook).
      this.receiver.failed({ status: 502, reason: `invalid upstream response: ${(err as Error).message}` })
      return false
    }
    this.#body = body
    this.receiver.response(response)
    return true
  }

  data(chunk: Buffer): boolean {
    return this.#body === undefined ? true : this.#body.push(chunk) // no body expected (HEAD/204/304): drop
  }

  end(): void {
    this.#body?.end()
  }

  error(failure: UpstreamFailure, started: boolean): void {
    if (!started) return this.receiver.failed(failure)
    this.#body?.fail(failure)
  }
}

/**
 * A response body arriving in chunks, held until it is read as a Web stream, sent straight to
 * the client, or cancelled (see the top of this file). `resume` restarts the producer after
 * `push` returned false. `copy`: chunks read through the Web stream are copies (a hook may
 * change them in place; the caller keeps the originals), chunks sent straight on are not.
 */
export class StreamedBody implements BodySource {
  /** Chunks not delivered yet, oldest first (a list of nodes: no array literal, see HookedForward in hooked-route.ts). */
  #first: HeldChunk | undefined
  #last: HeldChunk | undefined
  #heldBytes = 0
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  /** A reader waits on the stream with nothing held: the next chunk goes straight to it. */
  #wanted = false
  /** Sending straight to the client. */
  #direct: ClientSink | undefined
  /** Writes the client's head, before the first byte sent straight on or the end (sendTo). */
  #writeHead: (() => boolean) | undefined
  #paused = false
  #ended = false
  #failure: UpstreamFailure | undefined
  /** Cancelled: what still comes is dropped. */
  #dropped = false

  constructor(readonly resume: () => void, readonly copy: boolean) {}

  push(chunk: Buffer): boolean {
    if (this.#dropped) return true
    if (this.#direct !== undefined) {
      if (!this.#headWritten()) return true
      if (this.#direct.data(chunk)) return true
      this.#paused = true // until the client's 'drain'
      return false
    }
    if (this.#wanted) {
      this.#wanted = false
      this.#controller!.enqueue(this.#own(chunk))
      return true
    }
    const node = new HeldChunk(chunk)
    if (this.#last === undefined) this.#first = node
    else this.#last.next = node
    this.#last = node
    this.#heldBytes += chunk.length
    if (this.#heldBytes < HELD_BYTES) return true
    this.#paused = true // until a reader takes some, or the body is sent on
    return false
  }

  end(): void {
    if (this.#dropped || this.#ended) return
    this.#ended = true
    if (this.#direct !== undefined) return void (this.#headWritten() && this.#direct.end())
    if (this.#controller !== undefined && this.#first === undefined) this.#controller.close()
  }

  fail(failure: UpstreamFailure): void {
    if (this.#dropped || this.#ended || this.#failure !== undefined) return
    this.#failure = failure
    this.#drop()
    if (this.#direct !== undefined) return this.#direct.error(failure, true)
    this.#controller?.error(Object.assign(new Error(failure.reason), { status: failure.status }))
  }

  open(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller
        if (this.#failure !== undefined) controller.error(Object.assign(new Error(this.#failure.reason), { status: this.#failure.status }))
        else if (this.#ended && this.#first === undefined) controller.close()
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => this.cancel(),
    }, { highWaterMark: 0 })
  }

  /** A reader waits: hand it the next held chunk, or the next one to arrive. */
  #pull(controller: ReadableStreamDefaultController<Uint8Array>): void {
    const node = this.#first
    if (node === undefined) {
      if (this.#ended) controller.close()
      else this.#wanted = true
      return
    }
    this.#first = node.next
    if (this.#first === undefined) this.#last = undefined
    this.#heldBytes -= node.chunk.length
    controller.enqueue(this.#own(node.chunk))
    if (this.#ended && this.#first === undefined) controller.close()
    else if (this.#heldBytes < HELD_BYTES) this.#unpause()
  }

  sendTo(ctx: RequestContext, writeHead: () => boolean): void {
    // Its data/end/error. A failure before the head is written answers with the error status
    // (failClient: the response has not started), as a plain route's held head does.
    const out = new ClientSink(ctx, undefined)
    if (this.#failure !== undefined) return out.error(this.#failure, true)
    this.#direct = out
    this.#writeHead = writeHead
    ctx.res.on('drain', () => this.#unpause())
    let more = true
    if (this.#first !== undefined && !this.#headWritten()) return
    for (let node = this.#first; node !== undefined; node = node.next) more = out.data(node.chunk)
    this.#first = this.#last = undefined
    this.#heldBytes = 0
    if (this.#ended) return void (this.#headWritten() && out.end())
    if (more) this.#unpause()
    else this.#paused = true
  }

  /** Writes the pending head, if any; false (and the rest dropped) if it could not be written. */
  #headWritten(): boolean {
    const writeHead = this.#writeHead
    if (writeHead === undefined) return true
    this.#writeHead = undefined
    if (writeHead()) return true
    this.#direct = undefined
    this.cancel()
    return false
  }

  cancel(): void {
    if (this.#dropped) return
    this.#drop()
    this.#unpause() // let the rest flow (and be dropped)
  }

  #drop(): void {
    this.#dropped = true
    this.#first = this.#last = undefined
    this.#heldBytes = 0
  }

  #unpause(): void {
    if (!this.#paused || this.#ended || this.#failure !== undefined) return
    this.#paused = false
    this.resume()
  }

  #own(chunk: Buffer): Uint8Array {
    if (!this.copy) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    return new Uint8Array(chunk) // a copy in memory of its own (not a slice of a shared pool, nor of a stored body)
  }
}

class HeldChunk {
  next: HeldChunk | undefined = undefined
  constructor(readonly chunk: Buffer) {}
}

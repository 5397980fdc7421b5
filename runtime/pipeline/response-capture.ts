/**
 * A stand-in for the client's ServerResponse, for a part of the data plane that writes its
 * answer to `ctx.res` itself (the cache layer: stored responses, the tee to the client, its
 * errors) on a route whose hooks must see that answer before the client does. The part of
 * ServerResponse such code uses — writeHead(status, flat), write, end, 'drain', destroy,
 * headersSent, destroyed — is implemented here, and what is written becomes a ProxyResponse
 * (proxy-response.ts) whose body this capture is the source of:
 *
 * - head + `end(body)` in one go (a stored response): the whole body is here; if the hooks
 *   pass it on unread, the client gets these bytes as they are (no stream at all);
 * - head, then `write`s (a response streaming from the upstream): the body is a StreamedBody
 *   (web-response-sink.ts: held until read, sent straight on when the hooks pass it on unread,
 *   same backpressure as an upstream body on other hooked routes);
 * - `fail` (from sendError): an error, not an answer, so that onError hooks run as on any other
 *   route.
 *
 * Every byte a hook receives is a copy of its own: the hook may transform chunks in place (or
 * transfer them) without touching the cache's stored body or the store branch of a tee.
 */
import type { RequestContext, FrontResponse } from '../context.js'
import { StreamedBody, hasNullBody } from './web-response-sink.js'
import { newProxyResponse, type ProxyResponse, type BodySource } from './proxy-response.js'
import { assertWritableFields } from '../forward/response-headers.js'

export interface CaptureReceiver {
  /** The head was written: the client's answer (its body streams on, or is complete). */
  response(response: Response): void
  /** An error answer (what sendError would have written: status, reason, extra header lines). */
  error(status: number, reason: string, extra: readonly string[] | undefined): void
}

export class ResponseCapture implements BodySource {
  #headersSent = false
  #destroyed = false
  #ended = false
  /** Built by writeHead; handed to the receiver at `end` (complete) or on the first write / next tick (streaming). */
  #response: ProxyResponse | undefined
  #emitted = false
  #nullBody = false
  /** The whole body, when it was written in one `end` with the head. */
  #complete: Buffer | undefined
  /** The streaming body (not for a null body). */
  #body: StreamedBody | undefined
  /** 'drain' listeners: ClientSink registers one (kept in a field: no per-request array, see HookedForward in hooked-route.ts). */
  #drain: (() => void) | undefined
  #moreDrain: Array<() => void> | undefined

  constructor(readonly client: FrontResponse, readonly method: string, readonly receiver: CaptureReceiver) {}

  get headersSent(): boolean {
    return this.#headersSent
  }

  /** Destroyed here, or the client is gone. */
  get destroyed(): boolean {
    return this.#destroyed || this.client.destroyed
  }

  get writableEnded(): boolean {
    return this.#ended
  }

  writeHead(status: number, headers: string[]): this {
    if (this.#headersSent) throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' })
    // Throws like ServerResponse on a field it would refuse: the caller answers 502.
    assertWritableFields(headers)
    this.#response = newProxyResponse(status, headers, this)
    this.#nullBody = hasNullBody(status, this.method)
    this.#headersSent = true
    // A stored response ends right away, in this same tick; anything else streams.
    queueMicrotask(() => this.#emit())
    return this
  }

  write(chunk: Uint8Array): boolean {
    if (this.#destroyed || this.#ended) return false
    this.#emit()
    return this.#body === undefined ? true : this.#body.push(asBuffer(chunk)) // no body (HEAD/204/304): dropped
  }

  end(chunk?: Uint8Array): this {
    if (this.#destroyed || this.#ended) return this
    this.#ended = true
    if (!this.#emitted && this.#response !== undefined) {
      const bytes = chunk === undefined ? EMPTY : asBuffer(chunk)
      this.#complete = bytes
      if (bytes.length === 0) this.#nullBody = true
      this.#emit()
      return this
    }
    this.#emit()
    if (chunk !== undefined && chunk.byteLength > 0) this.#body?.push(asBuffer(chunk))
    this.#body?.end()
    return this
  }

  /** Only 'drain' (the backpressure signal ClientSink waits for) is ever emitted. */
  on(event: string, listener: () => void): this {
    if (event !== 'drain') return this
    if (this.#drain === undefined) this.#drain = listener
    else (this.#moreDrain ??= []).push(listener)
    return this
  }

  once(event: string, listener: () => void): this {
    return this.on(event, listener)
  }

  /** After the head: the body fails (the client's connection is then aborted). */
  destroy(): this {
    if (this.#destroyed) return this
    this.#destroyed = true
    if (this.#headersSent && !this.#ended) {
      this.#emit()
      this.#body?.fail({ status: 502, reason: 'response aborted' })
    }
    return this
  }

  /** sendError's way in: the error goes to the receiver instead of being written. */
  fail(status: number, reason: string, extra: readonly string[] | undefined): void {
    if (this.#headersSent || this.#destroyed) return
    this.#headersSent = true
    this.#ended = true
    this.receiver.error(status, reason, extra)
  }

  /** Hands the Response over (once), with its body's source ready. */
  #emit(): void {
    if (this.#emitted || this.#response === undefined) return
    this.#emitted = true
    if (this.#complete === undefined && !this.#nullBody) {
      this.#body = new StreamedBody(() => {
        this.#drain?.()
        if (this.#moreDrain !== undefined) for (const fn of this.#moreDrain) fn()
      }, true)
    }
    this.receiver.response(this.#response)
  }

  // BodySource of the ProxyResponse

  open(): ReadableStream<Uint8Array> | null {
    if (this.#nullBody) return null
    const bytes = this.#complete
    if (bytes === undefined) return this.#body!.open()
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(bytes)) // a copy: the stored bytes stay as they are
        controller.close()
      },
    })
  }

  sendTo(ctx: RequestContext, writeHead: () => boolean): void {
    if (this.#body !== undefined) return this.#body.sendTo(ctx, writeHead)
    if (!writeHead()) return
    const bytes = this.#complete
    if (this.#nullBody || bytes === undefined) return void ctx.res.end()
    ctx.bytes = bytes.length
    ctx.res.end(bytes)
  }

  cancel(): void {
    this.#body?.cancel()
  }
}

const EMPTY = Buffer.alloc(0)

function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

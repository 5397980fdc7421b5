/**
 * Streams a request body (the client's IncomingMessage, or a hook's replacement) to the upstream
 * socket with backpressure: the source is paused while the socket's buffer is full and resumed
 * on 'drain'. Framing: the declared Content-Length (enforced both ways) or chunked encoding.
 * Attached only once the socket is connected, so a connect error leaves the source untouched
 * (the forwarder may send it to another server).
 */
import { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { Socket } from 'node:net'
import { UpstreamClientError, requestBodyError } from './errors.js'
import { corkForThisTurn } from '../stream-buffer.js'

/** The connection's side of a body transfer. */
export interface BodyTarget {
  readonly socket: Socket
  /** The socket's buffer filled (true) or drained (false). */
  bodyBackpressure(blocked: boolean): void
  /** Every byte (and the chunked terminator) is written. */
  bodySent(): void
  bodyFailed(err: Error): void
}

/**
 * Body bytes held for the upstream socket before the client is paused. Measured on 1 MiB
 * uploads (issue #6): pausing at the socket's 16 KiB mark made one 64 KiB write per read; with
 * the chunks of a turn corked together and this bound, 18 writes per upload became ~5.
 * Held per upload to a server that stops reading: up to this plus one read (64 KiB).
 */
const BODY_WRITE_BUFFER = 256 * 1024

export class StreamBodyWriter {
  #written = 0
  #finished = false

  constructor(readonly target: BodyTarget, readonly source: Readable, readonly declared: number) {
    source.on('data', this.#onData)
    source.on('end', this.#onEnd)
    source.on('error', this.#onError)
    source.on('close', this.#onClose)
    if (source.readableEnded) queueMicrotask(this.#onEnd)
    else if (source.destroyed) queueMicrotask(this.#onClose)
    else source.resume()
  }

  /** The socket drained: read on. */
  drained(): void {
    if (this.#finished) return
    this.target.bodyBackpressure(false)
    this.source.resume()
  }

  /**
   * Stop sending (the exchange ended first: an early response, an error, an abort). The
   * client's own request is read to its end and dropped, so node:http can answer it and keep
   * the connection; any other stream is destroyed, since nothing bounds how long it would run.
   */
  abandon(): void {
    if (this.#finished) return
    this.#finish()
    if (this.source instanceof IncomingMessage) this.source.resume()
    else this.source.destroy()
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#finished || chunk.length === 0) return // an empty chunk would end a chunked body
    const socket = this.target.socket
    if (this.declared >= 0 && this.#written + chunk.length > this.declared) return this.#fail('request body longer than its Content-Length')
    corkForThisTurn(socket)
    if (this.declared >= 0) {
      this.#written += chunk.length
      socket.write(chunk)
    } else {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
      socket.write(chunk)
      socket.write('\r\n', 'latin1')
    }
    // The socket's own high-water mark (16 KiB) would pause the client after every chunk.
    if (socket.writableLength < BODY_WRITE_BUFFER) return
    this.source.pause()
    this.target.bodyBackpressure(true)
  }

  readonly #onEnd = (): void => {
    if (this.#finished) return
    if (this.declared >= 0 && this.#written !== this.declared) return this.#fail('request body shorter than its Content-Length')
    this.#finish()
    if (this.declared < 0) this.target.socket.write('0\r\n\r\n', 'latin1')
    this.target.bodySent()
  }

  readonly #onError = (err: Error): void => {
    if (this.#finished) return
    this.#finish()
    this.target.bodyFailed(requestBodyError(err))
  }

  readonly #onClose = (): void => {
    // 'close' can come before 'error' for some streams: let a pending error be the reason.
    queueMicrotask(() => {
      if (!this.#finished) this.#fail('request body stream closed before its end')
    })
  }

  #fail(message: string): void {
    this.#finish()
    if (!this.source.destroyed) this.source.destroy()
    this.target.bodyFailed(new UpstreamClientError('SWITCHYARD_REQUEST_BODY', message))
  }

  #finish(): void {
    this.#finished = true
    const s = this.source
    s.off('data', this.#onData)
    s.off('end', this.#onEnd)
    s.off('close', this.#onClose)
    // Keep an error listener: a stream erroring later must not become an uncaught exception.
    s.off('error', this.#onError)
    s.on('error', ignore)
  }
}

function ignore(): void {}

/**
 * A Node Readable as a Web ReadableStream, with backpressure and a safe cancel. Node 20's
 * `Readable.toWeb` throws an uncaught ERR_INVALID_STATE ("Controller is already closed") when
 * the stream is cancelled and the Readable then ends or errors — a handler that cancels a
 * `ctx.forward()` body would take the whole proxy down.
 */
import type { Readable } from 'node:stream'

const HIGH_WATER_MARK = 64 * 1024

/**
 * `cancel`: what cancelling does to the Readable — `'destroy'` (an upstream body: stop the
 * transfer) or `'drain'` (the client's request body: read and drop the rest, so the
 * connection survives for the response).
 */
export function nodeToWeb(readable: Readable, cancel: 'destroy' | 'drain' = 'destroy'): ReadableStream<Uint8Array> {
  let done = false
  return new ReadableStream<Uint8Array>({
    start(controller) {
      readable.on('data', (chunk: Buffer) => {
        if (done) return
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
        if ((controller.desiredSize ?? 1) <= 0) readable.pause()
      })
      readable.once('end', () => {
        if (done) return
        done = true
        controller.close()
      })
      readable.once('error', (err) => {
        if (done) return
        done = true
        controller.error(err)
      })
      readable.once('close', () => {
        // Destroyed without 'end' or 'error' (e.g. the connection was torn down).
        if (done) return
        done = true
        controller.error(new Error('body stream closed before its end'))
      })
    },
    pull() {
      readable.resume()
    },
    cancel() {
      done = true
      if (cancel === 'destroy') return void readable.destroy()
      readable.removeAllListeners('data')
      readable.resume()
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark: HIGH_WATER_MARK }))
}

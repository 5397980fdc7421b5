// A minimal `net` HTTP/1.1 front for the ceiling spikes: parses request heads with
// parseRequest (GET/HEAD, no bodies), one request in flight per connection (pipelined requests
// wait in the buffer), responses written by the handler. FOR MEASUREMENT ONLY.
import net from 'node:net'
import { parseRequest, errorResponse } from './http1.mjs'

export class FrontConn {
  constructor(socket, onRequest) {
    this.socket = socket
    this.onRequest = onRequest
    this.buf = null
    this.busy = false
    this.closeAfter = false
    this.gone = false
    this.abortHook = undefined // set by the handler while a response is pending
    socket.on('data', (chunk) => {
      this.buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk])
      if (!this.busy) this.#next()
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      this.gone = true
      const h = this.abortHook
      this.abortHook = undefined
      h?.()
    })
  }
  #next() {
    if (this.buf === null || this.gone) return
    const r = parseRequest(this.buf, 0)
    if (r === undefined) return
    if (r.error) { this.buf = null; this.socket.end(errorResponse(r.error)); return }
    if (r.method !== 'GET' && r.method !== 'HEAD') { this.buf = null; this.socket.end(errorResponse(400)); return }
    this.buf = r.end === this.buf.length ? null : this.buf.subarray(r.end)
    this.busy = true
    this.closeAfter = r.close
    this.onRequest(this, r)
  }
  /** The response for the current request has been fully handed to the socket. */
  done() {
    this.busy = false
    this.abortHook = undefined
    if (this.closeAfter) { this.socket.end(); return }
    if (this.buf !== null) this.#next()
  }
  /** Writes a complete small response (head string + body) with one write. */
  sendWhole(head, body) {
    const hl = head.length
    if (body.length <= 16384) {
      const out = Buffer.allocUnsafe(hl + body.length)
      out.write(head, 0, "latin1")
      body.copy(out, hl)
      this.socket.write(out)
    } else {
      this.socket.cork()
      this.socket.write(head, 'latin1')
      this.socket.write(body)
      this.socket.uncork()
    }
    this.done()
  }
  fail(status) {
    this.closeAfter = true
    if (!this.gone) this.socket.end(errorResponse(status))
    this.busy = false
  }
}

export function createFront(onRequest) {
  return net.createServer({ noDelay: true }, (socket) => new FrontConn(socket, onRequest))
}

// A minimal keep-alive HTTP/1.1 client over `net` for the ceiling spikes (one request per
// connection at a time, Content-Length responses only). FOR MEASUREMENT ONLY.
import net from 'node:net'
import { parseResponse, requestHead } from './http1.mjs'

/**
 * exchange: { onHead(status, headers, length, bodyInSameChunk: Buffer|undefined) -> void,
 *             onBody(chunk) -> boolean (false = pause), onEnd(), onError(err) }
 * onHead receives the complete body as its 4th argument when head and whole body arrived in
 * one read (the common small-response case); onBody/onEnd are then not called.
 */
class Conn {
  constructor(pool) {
    this.pool = pool
    this.ex = undefined
    this.method = 'GET'
    this.buf = null
    this.remaining = -1 // -1: waiting for head
    this.close = false
    this.socket = net.connect({ port: pool.port, host: pool.host, noDelay: true })
    this.socket.on('data', (chunk) => this.#onData(chunk))
    this.socket.on('error', (err) => this.#fail(err))
    this.socket.on('close', () => this.#fail(new Error('upstream closed')))
  }
  send(method, target, headers, ex) {
    this.ex = ex
    ex.up = this
    this.method = method
    this.remaining = -1
    this.socket.write(requestHead(method, target, headers), 'latin1')
  }
  #onData(chunk) {
    const ex = this.ex
    if (ex === undefined) return this.socket.destroy() // unsolicited bytes
    if (this.remaining === -1) {
      const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk])
      const r = parseResponse(buf, 0, this.method)
      if (r === undefined) { this.buf = buf; return }
      this.buf = null
      if (r.error) { this.socket.destroy(); return this.#fail(new Error(`bad upstream response (${r.error})`)) }
      this.close = r.close
      const avail = buf.length - r.end
      if (avail > r.length) { this.socket.destroy(); return this.#fail(new Error('extra bytes after response')) }
      if (avail === r.length) {
        this.remaining = 0
        ex.onHead(r.status, r.headers, r.length, r.length === 0 ? EMPTY : buf.subarray(r.end))
        return this.#done()
      }
      this.remaining = r.length - avail
      ex.onHead(r.status, r.headers, r.length, undefined)
      if (avail > 0 && ex.onBody(buf.subarray(r.end)) === false) this.socket.pause()
      return
    }
    if (chunk.length > this.remaining) { this.socket.destroy(); return this.#fail(new Error('extra bytes after response')) }
    this.remaining -= chunk.length
    const ok = ex.onBody(chunk)
    if (this.remaining === 0) { ex.onEnd(); return this.#done() }
    if (ok === false) this.socket.pause()
  }
  resume() { this.socket.resume() }
  #done() {
    this.ex = undefined
    if (this.close) { this.socket.destroy(); return }
    this.pool.release(this)
  }
  #fail(err) {
    this.pool.forget(this)
    const ex = this.ex
    this.ex = undefined
    ex?.onError(err)
  }
  /** Abandon the exchange (client went away): the connection cannot be reused. */
  abandon() { this.ex = undefined; this.socket.destroy() }
}
const EMPTY = Buffer.alloc(0)

export class UpstreamPool {
  constructor(host, port, max = 256) {
    this.host = host
    this.port = port
    this.max = max
    this.idle = []
    this.count = 0
    this.queue = []
  }
  /** Returns the connection carrying the exchange (or undefined while queued). */
  request(method, target, headers, ex) {
    let c = this.idle.pop()
    if (c === undefined) {
      if (this.count >= this.max) { this.queue.push([method, target, headers, ex]); return undefined }
      this.count++
      c = new Conn(this)
    }
    c.send(method, target, headers, ex)
    return c
  }
  release(c) {
    const q = this.queue.shift()
    if (q) c.send(q[0], q[1], q[2], q[3])
    else this.idle.push(c)
  }
  forget(c) {
    const i = this.idle.indexOf(c)
    if (i !== -1) this.idle.splice(i, 1)
    if (!c.dead) { c.dead = true; this.count-- }
  }
}

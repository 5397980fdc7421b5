// Proxy spike (d): `net` front (lib/front.mjs) + undici Pool.dispatch behind; the response head
// is serialised by hand and head+body go out in one write when the body came in one piece.
import { Pool } from 'undici'
import { announce, env, upstreamHeaders, isHopByHop, statusLine } from '../lib/http1.mjs'
import { createFront } from '../lib/front.mjs'

const ORIGIN = `http://127.0.0.1:${env('ORIGIN_PORT', '8080')}`
const upstreamHost = new URL(ORIGIN).host
const members = [new Pool(ORIGIN, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000, maxHeaderSize: 64 * 1024 })]
let rr = 0
const VALUE_OK = /^[^\x00-\x08\x0a-\x1f\x7f]*$/

// Response head from undici's raw Buffers: hop-by-hop dropped; Content-Length kept when present,
// else the body is re-chunked (chunked flag).
function head(status, raw, close) {
  let s = statusLine(status)
  let hasLength = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'content-length') hasLength = true
    else if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    const value = raw[i + 1].toString('latin1')
    if (!VALUE_OK.test(value)) return undefined // undici validates names/values it parsed; belt and braces
    s += `${name}: ${value}\r\n`
  }
  const chunked = !hasLength && status !== 204 && status !== 304
  if (chunked) s += 'transfer-encoding: chunked\r\n'
  return [s + (close ? 'connection: close\r\n\r\n' : '\r\n'), chunked]
}

class Handler {
  constructor(conn, method) {
    this.conn = conn
    this.method = method
    this.head = undefined
    this.chunked = false
    this.pending = undefined
    this.streaming = false
    this.abort = undefined
    this.resume = undefined
    conn.abortHook = () => this.abort?.(new Error('client gone'))
  }
  onConnect(abort) { this.abort = abort }
  onHeaders(status, raw, resume) {
    if (status < 200) return true
    if (this.conn.gone) { this.abort?.(new Error('client gone')); return false }
    const h = head(status, raw, this.conn.closeAfter)
    if (h === undefined) { this.conn.fail(502); return false }
    this.head = h[0]
    this.chunked = h[1]
    this.resume = resume
    return true
  }
  #stream() {
    const s = this.conn.socket
    this.streaming = true
    s.write(this.head, 'latin1')
    s.on('drain', this.resume) // (one listener per streamed response; fine for the spike)
  }
  #write(chunk) {
    const s = this.conn.socket
    if (!this.chunked) return s.write(chunk)
    s.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
    s.write(chunk)
    return s.write('\r\n', 'latin1')
  }
  onData(chunk) {
    if (this.conn.gone) { this.abort?.(new Error('client gone')); return false }
    if (!this.streaming) {
      if (this.pending === undefined) { this.pending = chunk; return true }
      this.#stream()
      this.#write(this.pending)
      this.pending = undefined
    }
    return this.#write(chunk)
  }
  onComplete() {
    const conn = this.conn
    if (conn.gone) return
    if (!this.streaming && !this.chunked) return conn.sendWhole(this.head, this.pending ?? EMPTY)
    if (!this.streaming) { this.#stream(); if (this.pending) this.#write(this.pending) }
    if (this.chunked) conn.socket.write('0\r\n\r\n', 'latin1')
    conn.socket.removeListener('drain', this.resume)
    conn.done()
  }
  onError() {
    if (this.streaming) { this.conn.socket.destroy(); return }
    this.conn.fail(502)
  }
}
const EMPTY = Buffer.alloc(0)

const server = createFront((conn, r) => {
  const member = members[rr++ % members.length]
  const headers = upstreamHeaders(r.headers, conn.socket.remoteAddress ?? '', r.host, upstreamHost)
  member.dispatch({ path: r.target, method: r.method, headers, body: null }, new Handler(conn, r.method))
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

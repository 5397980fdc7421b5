// Proxy spike (e-llhttp): like (e) — `net` front + `net` upstream — but both directions parsed by
// llhttp (undici's wasm build, strict mode) instead of the regex head parser: what does a parser
// as strict as Node's own cost on a purpose-built fast path? GET/HEAD only (a request body → 400).
import net from 'node:net'
import { announce, env, upstreamHeaders, isHopByHop, statusLine, errorResponse } from '../lib/http1.mjs'
import { Parser, TYPE, ERROR } from '../lib/llhttp.mjs'

const port = Number(env('ORIGIN_PORT', '8080'))
const upstreamHost = `127.0.0.1:${port}`

// ---------- upstream ----------
class Up {
  constructor(pool) {
    this.pool = pool
    this.ex = undefined
    this.parser = new Parser(TYPE.RESPONSE, this)
    this.keepAlive = true
    this.head = false
    this.method = 'GET'
    this.socket = net.connect({ port, host: '127.0.0.1', noDelay: true })
    this.socket.on('data', (chunk) => this.#onData(chunk))
    this.socket.on('error', () => {})
    this.socket.on('close', () => this.#fail())
  }
  send(method, target, headers, ex) {
    this.ex = ex
    ex.up = this
    this.method = method
    this.complete = false
    let s = `${method} ${target} HTTP/1.1\r\n`
    for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`
    this.socket.write(s + '\r\n', 'latin1')
  }
  onHeadersComplete(p, status, upgrade, keepAlive) {
    if (status < 200) return 0 // interim response: llhttp completes it as a message; ignored below
    if (upgrade || this.ex === undefined) return -1
    this.keepAlive = keepAlive
    this.ex.onHead(status, p.headers)
    return this.method === 'HEAD' ? 1 : 0
  }
  onBody(p, buf) { this.ex?.onBody(buf); return 0 }
  onMessageComplete(p) {
    if (p.status < 200) return 0
    this.complete = true
    return ERROR.PAUSED
  }
  #onData(chunk) {
    const ex = this.ex
    if (ex === undefined) return void this.socket.destroy() // unsolicited bytes
    const ret = this.parser.execute(chunk)
    if (ret === ERROR.PAUSED) {
      if (this.parser.consumed !== chunk.length) { this.socket.destroy(); return } // bytes after the response
      this.parser.resume()
    } else if (ret !== 0) {
      this.socket.destroy()
      return
    }
    if (this.complete) {
      this.ex = undefined
      ex.onEnd()
      if (!this.keepAlive) this.socket.destroy()
      else this.pool.release(this)
    } else ex.onChunkDone()
  }
  #fail() {
    this.pool.forget(this)
    this.parser.destroy()
    const ex = this.ex
    this.ex = undefined
    ex?.onError()
  }
  abandon() { this.ex = undefined; this.socket.destroy() }
  resume() { this.socket.resume() }
}

class Pool {
  idle = []
  count = 0
  queue = []
  request(method, target, headers, ex) {
    let c = this.idle.pop()
    if (c === undefined) {
      if (this.count >= 256) return void this.queue.push([method, target, headers, ex])
      this.count++
      c = new Up(this)
    }
    c.send(method, target, headers, ex)
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
const members = [new Pool()]
let rr = 0

// ---------- one proxied exchange ----------
class Exchange {
  constructor(front) {
    this.front = front
    this.up = undefined
    this.head = ''
    this.chunked = false
    this.chunks = []
    this.streaming = false
    front.abortHook = () => this.up?.abandon()
  }
  onHead(status, raw) {
    let s = statusLine(status)
    let hasLength = false
    let nominated
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i].toLowerCase()
      if (lower === 'connection') {
        for (const t of raw[i + 1].split(',')) {
          const n = t.trim().toLowerCase()
          if (n && n !== 'close' && n !== 'keep-alive') (nominated ??= new Set()).add(n)
        }
      }
    }
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]
      const lower = name.toLowerCase()
      if (lower === 'content-length') hasLength = true
      else if ((isHopByHop(lower) && lower !== 'proxy-authenticate') || nominated?.has(lower)) continue
      s += `${name}: ${raw[i + 1]}\r\n`
    }
    this.chunked = !hasLength && status !== 204 && status !== 304
    if (this.chunked) s += 'transfer-encoding: chunked\r\n'
    this.head = s + (this.front.closeAfter ? 'connection: close\r\n\r\n' : '\r\n')
  }
  onBody(buf) {
    if (!this.streaming) this.chunks.push(buf)
    else this.#write(buf)
  }
  #write(buf) {
    const s = this.front.socket
    if (!this.chunked) { if (!s.write(buf)) this.#pause(); return }
    s.write(`${buf.length.toString(16)}\r\n`, 'latin1')
    s.write(buf)
    if (!s.write('\r\n', 'latin1')) this.#pause()
  }
  #pause() {
    const up = this.up
    up.socket.pause()
    this.front.socket.once('drain', () => up.resume())
  }
  /** A read ended without completing the response: start streaming what we have. */
  onChunkDone() {
    if (this.streaming || this.head === '') return
    this.streaming = true
    this.front.socket.write(this.head, 'latin1')
    for (const c of this.chunks) this.#write(c)
    this.chunks = []
  }
  onEnd() {
    const f = this.front
    if (f.gone) return
    if (!this.streaming && !this.chunked) {
      const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)
      return f.sendWhole(this.head, body)
    }
    if (!this.streaming) { f.socket.write(this.head, 'latin1'); for (const c of this.chunks) this.#write(c) }
    if (this.chunked) f.socket.write('0\r\n\r\n', 'latin1')
    f.done()
  }
  onError() {
    if (this.streaming) this.front.socket.destroy()
    else this.front.fail(502)
  }
}

// ---------- front ----------
class Front {
  constructor(socket) {
    this.socket = socket
    this.parser = new Parser(TYPE.REQUEST, this)
    this.pending = null
    this.busy = false
    this.closeAfter = false
    this.gone = false
    this.abortHook = undefined
    this.req = undefined
    socket.on('data', (chunk) => {
      if (this.busy) this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
      else this.#feed(chunk)
    })
    socket.on('error', () => socket.destroy())
    socket.on('close', () => {
      this.gone = true
      this.parser.destroy()
      const h = this.abortHook
      this.abortHook = undefined
      h?.()
    })
  }
  onHeadersComplete(p, _status, upgrade, keepAlive) {
    const method = p.method
    if (upgrade || (method !== 'GET' && method !== 'HEAD') || p.url.charCodeAt(0) !== 0x2f) return -1
    let host
    const h = p.headers
    for (let i = 0; i < h.length; i += 2) {
      if (h[i].length === 4 && h[i].toLowerCase() === 'host') {
        if (host !== undefined) return -1
        host = h[i + 1]
      }
    }
    if (host === undefined && p.minor === 1) return -1
    this.req = { method, target: p.url, headers: h, host: host ?? '', keepAlive }
    return 0
  }
  onBody() { return -1 } // request bodies are not part of the spike
  onMessageComplete() { return ERROR.PAUSED }
  #feed(chunk) {
    const ret = this.parser.execute(chunk)
    if (ret === 0) return
    if (ret !== ERROR.PAUSED) { this.fail(400); return }
    this.pending = this.parser.consumed === chunk.length ? null : chunk.subarray(this.parser.consumed)
    const r = this.req
    this.busy = true
    this.closeAfter = !r.keepAlive
    const headers = upstreamHeaders(r.headers, this.socket.remoteAddress ?? '', r.host, upstreamHost)
    members[rr++ % members.length].request(r.method, r.target, headers, new Exchange(this))
  }
  done() {
    this.busy = false
    this.abortHook = undefined
    if (this.closeAfter) { this.socket.end(); return }
    this.parser.resume()
    const p = this.pending
    this.pending = null
    if (p !== null) this.#feed(p)
  }
  sendWhole(head, body) {
    const hl = head.length
    const out = Buffer.allocUnsafe(hl + body.length)
    out.write(head, 0, 'latin1')
    body.copy(out, hl)
    this.socket.write(out)
    this.done()
  }
  fail(status) {
    this.closeAfter = true
    this.busy = true // stop parsing
    if (!this.gone) this.socket.end(errorResponse(status))
  }
}

const server = net.createServer({ noDelay: true }, (socket) => new Front(socket))
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

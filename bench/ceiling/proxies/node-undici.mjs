// Proxy spike (a)/(b): node:http front + undici Pool.dispatch with a raw (legacy) handler writing
// into ServerResponse — the shape of Switchyard's forward path, minus routing/config/logging.
// FLAGS (comma list) switch on the techniques of (b):
//   end   – hold the first body chunk; if onComplete follows, send head+body with res.end(chunk)
//   cork  – socket.cork() around writeHead/write/end, uncork synchronously after end
//   obj   – writeHead with an object instead of the flat [name, value, …] array
//   timer – per-request total-timeout setTimeout/clearTimeout (what Switchyard's ProxyHandler does)
import http from 'node:http'
import { Pool } from 'undici'
import { announce, env, upstreamHeaders, isHopByHop } from '../lib/http1.mjs'

const FLAGS = new Set(env('FLAGS', '').split(',').filter(Boolean))
const END = FLAGS.has('end')
const CORK = FLAGS.has('cork')
const OBJ = FLAGS.has('obj')
const TIMER = FLAGS.has('timer')
const ORIGIN = `http://127.0.0.1:${env('ORIGIN_PORT', '8080')}`
const upstreamHost = new URL(ORIGIN).host
// A "group" with round robin over its members (one server here, as in the harness).
const members = [new Pool(ORIGIN, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000, maxHeaderSize: 64 * 1024 })]
let rr = 0

function responseHeaders(raw) {
  const out = []
  let nominated
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      for (const t of raw[i + 1].toString('latin1').split(',')) {
        const n = t.trim().toLowerCase()
        if (n && n !== 'close' && n !== 'keep-alive') (nominated ??= new Set()).add(n)
      }
      continue
    }
    if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    out.push(name, raw[i + 1].toString('latin1'))
  }
  if (!nominated) return out
  const kept = []
  for (let i = 0; i < out.length; i += 2) if (!nominated.has(out[i].toLowerCase())) kept.push(out[i], out[i + 1])
  return kept
}

function toObject(list) {
  const o = {}
  for (let i = 0; i < list.length; i += 2) {
    const k = list[i]
    const prev = o[k]
    o[k] = prev === undefined ? list[i + 1] : Array.isArray(prev) ? [...prev, list[i + 1]] : [prev, list[i + 1]]
  }
  return o
}

class Handler {
  abort = undefined
  status = 0
  headers = undefined
  pending = undefined // first body chunk held back (END)
  streaming = false
  corked = false
  timer = undefined
  constructor(req, res) {
    this.req = req
    this.res = res
    if (TIMER) this.timer = setTimeout(() => this.abort?.(new Error('total timeout')), 60_000)
  }
  onConnect(abort) { this.abort = abort }
  onHeaders(status, raw, resume) {
    if (status < 200) return true
    const res = this.res
    // The client left: abort the upstream exchange. (Returning false alone only *pauses* undici,
    // which leaks the pool connection — the first version of this spike stalled that way.)
    if (res.destroyed) { this.abort?.(new Error('client gone')); return false }
    const headers = responseHeaders(raw)
    if (END) {
      this.status = status
      this.headers = headers
      this.resume = resume
      return true
    }
    if (CORK && res.socket) { res.socket.cork(); this.corked = true }
    res.writeHead(status, OBJ ? toObject(headers) : headers)
    res.on('drain', resume)
    return true
  }
  #startStreaming() {
    const res = this.res
    this.streaming = true
    res.writeHead(this.status, OBJ ? toObject(this.headers) : this.headers)
    res.on('drain', this.resume)
  }
  onData(chunk) {
    if (this.res.destroyed) { this.abort?.(new Error('client gone')); return false }
    if (END && !this.streaming) {
      if (this.pending === undefined) {
        this.pending = chunk
        return true
      }
      this.#startStreaming()
      const first = this.pending
      this.pending = undefined
      this.res.write(first)
    }
    const ok = this.res.write(chunk)
    if (this.corked) { this.corked = false; this.res.socket?.uncork() }
    return ok
  }
  onComplete() {
    if (this.timer) clearTimeout(this.timer)
    const res = this.res
    if (END && !this.streaming) {
      if (CORK) res.socket?.cork()
      res.writeHead(this.status, OBJ ? toObject(this.headers) : this.headers)
      if (this.pending !== undefined) res.end(this.pending)
      else res.end()
      if (CORK) res.socket?.uncork()
      return
    }
    res.end()
    if (this.corked) { this.corked = false; res.socket?.uncork() }
  }
  onError(err) {
    if (this.timer) clearTimeout(this.timer)
    const res = this.res
    if (res.headersSent) res.destroy()
    else { res.writeHead(502, { 'content-length': 0 }); res.end() }
  }
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 120_000, requireHostHeader: true, joinDuplicateHeaders: false }, (req, res) => {
  const member = members[rr++ % members.length]
  const headers = upstreamHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', req.headers.host ?? '', upstreamHost)
  const handler = new Handler(req, res)
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  member.dispatch({ path: req.url, method: req.method, headers, body: hasBody ? req : null }, handler)
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

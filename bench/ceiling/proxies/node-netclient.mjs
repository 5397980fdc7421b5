// Proxy spike (c): node:http front + the hand-written `net` upstream client (lib/upstream.mjs)
// instead of undici, to see what undici costs. Head+whole body in one read → res.end(body).
import http from 'node:http'
import { announce, env, upstreamHeaders } from '../lib/http1.mjs'
import { UpstreamPool } from '../lib/upstream.mjs'

const port = Number(env('ORIGIN_PORT', '8080'))
const members = [new UpstreamPool('127.0.0.1', port, 256)]
const upstreamHost = `127.0.0.1:${port}`
let rr = 0

class Exchange {
  constructor(res) { this.res = res; this.up = undefined }
  onHead(status, headers, length, whole) {
    const res = this.res
    if (res.destroyed) { if (whole === undefined) this.up?.abandon(); return }
    res.writeHead(status, headers)
    if (whole !== undefined) res.end(whole)
    else res.on('drain', () => this.up?.resume())
  }
  onBody(chunk) {
    if (this.res.destroyed) { this.up?.abandon(); return false }
    return this.res.write(chunk)
  }
  onEnd() { this.res.end() }
  onError() {
    const res = this.res
    if (res.headersSent) res.destroy()
    else { res.writeHead(502, { 'content-length': 0 }); res.end() }
  }
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 120_000, requireHostHeader: true, joinDuplicateHeaders: false }, (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { 'content-length': 0 }); return res.end() }
  const member = members[rr++ % members.length]
  const headers = upstreamHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', req.headers.host ?? '', upstreamHost)
  const ex = new Exchange(res)
  member.request(req.method, req.url, headers, ex)
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

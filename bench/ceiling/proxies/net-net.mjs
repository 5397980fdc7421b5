// Proxy spike (e): `net` front + `net` upstream client, both heads parsed minimally, bodies piped
// (Content-Length only). Head+whole small body go to the client in one write.
import { announce, env, upstreamHeaders, responseHead } from '../lib/http1.mjs'
import { createFront } from '../lib/front.mjs'
import { UpstreamPool } from '../lib/upstream.mjs'

const port = Number(env('ORIGIN_PORT', '8080'))
const members = [new UpstreamPool('127.0.0.1', port, 256)]
const upstreamHost = `127.0.0.1:${port}`
let rr = 0

class Exchange {
  constructor(conn) {
    this.conn = conn
    this.up = undefined
    this.onDrain = undefined
    conn.abortHook = () => this.up?.abandon()
  }
  onHead(status, headers, length, whole) {
    const conn = this.conn
    const head = responseHead(status, headers, conn.closeAfter)
    if (whole !== undefined) return conn.sendWhole(head, whole)
    conn.socket.write(head, 'latin1')
    this.onDrain = () => this.up?.resume()
    conn.socket.on('drain', this.onDrain)
  }
  onBody(chunk) { return this.conn.socket.write(chunk) }
  onEnd() {
    this.conn.socket.removeListener('drain', this.onDrain)
    this.conn.done()
  }
  onError() {
    if (this.onDrain) this.conn.socket.destroy()
    else this.conn.fail(502)
  }
}

const server = createFront((conn, r) => {
  const member = members[rr++ % members.length]
  const headers = upstreamHeaders(r.headers, conn.socket.remoteAddress ?? '', r.host, upstreamHost)
  const ex = new Exchange(conn)
  member.request(r.method, r.target, headers, ex)
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

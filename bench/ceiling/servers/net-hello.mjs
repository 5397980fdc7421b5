// Ceiling 1b: bare `net` server answering a fixed HTTP/1.1 response per request head.
// Uses the same strict-ish head parser as the net-front proxies (GET/HEAD, no bodies).
import net from 'node:net'
import { announce, env, parseRequest, errorResponse } from '../lib/http1.mjs'
import { Parser, TYPE } from '../lib/llhttp.mjs'

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 12\r\n\r\nhello world\n', 'latin1')
const PARSE = env('PARSE', 'full') // 'full' = regex-validated head; 'crlf' = only find \r\n\r\n; 'llhttp' = undici's wasm llhttp

function llhttpConn(socket) {
  let n = 0
  const parser = new Parser(TYPE.REQUEST, {
    onHeadersComplete: (p) => (p.method === 'GET' || p.method === 'HEAD' ? 0 : -1),
    onBody: () => -1,
    onMessageComplete: () => { n++; return 0 },
  })
  socket.on('data', (chunk) => {
    n = 0
    const ret = parser.execute(chunk)
    if (n === 1) socket.write(RESPONSE)
    else if (n > 1) socket.write(Buffer.concat(Array(n).fill(RESPONSE)))
    if (ret !== 0) socket.end(errorResponse(400))
  })
  socket.on('error', () => socket.destroy())
  socket.on('close', () => parser.destroy())
}

const server = net.createServer({ noDelay: true }, (socket) => {
  if (PARSE === 'llhttp') return llhttpConn(socket)
  let buf = null
  socket.on('data', (chunk) => {
    buf = buf === null ? chunk : Buffer.concat([buf, chunk])
    let pos = 0
    let n = 0
    for (;;) {
      if (PARSE === 'crlf') {
        const idx = buf.indexOf('\r\n\r\n', pos)
        if (idx === -1) break
        if (buf[pos] !== 0x47 /* G */) return void socket.end(errorResponse(400))
        pos = idx + 4
        n++
        continue
      }
      const r = parseRequest(buf, pos)
      if (r === undefined) break
      if (r.error) return void socket.end(errorResponse(r.error))
      if (r.method !== 'GET' && r.method !== 'HEAD') return void socket.end(errorResponse(400))
      pos = r.end
      n++
    }
    buf = pos === buf.length ? null : buf.subarray(pos)
    if (n === 1) socket.write(RESPONSE)
    else if (n > 1) socket.write(Buffer.concat(Array(n).fill(RESPONSE)))
  })
  socket.on('error', () => socket.destroy())
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

// Fallback origin when nginx is not installed: node:http serving the same paths as the nginx origin.
//   node node-origin.js --port 9000
import http from 'node:http'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { port: { type: 'string' } } })
const port = Number(values.port ?? 9000)

const bodies: Record<string, Buffer> = {
  '/small': Buffer.from('hello world\n'), // 12 bytes
  '/64k': Buffer.alloc(64 * 1024, 'a'),
  '/1m': Buffer.alloc(1024 * 1024, 'a'),
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0] ?? '/'
  if (path === '/upload') {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2', 'x-received': String(n) })
      res.end('ok')
    })
    return
  }
  const body = bodies[path]
  if (!body) {
    res.writeHead(404, { 'content-length': '0' })
    res.end()
    return
  }
  req.resume()
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) })
  res.end(body)
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.listen(port, '127.0.0.1')

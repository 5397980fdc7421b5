// http-proxy 1.18 with a keep-alive agent, for comparison.
//   node http-proxy.js --port 8081 --target http://127.0.0.1:9000
import http from 'node:http'
import { parseArgs } from 'node:util'
import httpProxy from 'http-proxy'

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } })
const port = Number(values.port ?? 8081)
const target = values.target ?? 'http://127.0.0.1:9000'

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
const proxy = httpProxy.createProxyServer({ target, agent })
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502, { 'content-length': '0' })
    res.end()
  } else {
    res.destroy()
  }
})

const server = http.createServer((req, res) => proxy.web(req, res))
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.listen(port, '127.0.0.1')

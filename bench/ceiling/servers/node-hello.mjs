// Ceiling 1a: bare node:http hello world (12-byte body, keep-alive).
import http from 'node:http'
import { announce, env } from '../lib/http1.mjs'

const server = http.createServer({ noDelay: true, keepAliveTimeout: 120_000 }, (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 12 })
  res.end('hello world\n')
})
server.listen(Number(env('PORT', 0)), '127.0.0.1', () => announce(server))

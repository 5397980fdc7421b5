// fastify 5 + @fastify/http-proxy (undici pool), for comparison.
//   node fastify-proxy.js --port 8082 --target http://127.0.0.1:9000
import { parseArgs } from 'node:util'
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const { values } = parseArgs({ options: { port: { type: 'string' }, target: { type: 'string' } } })
const port = Number(values.port ?? 8082)
const target = values.target ?? 'http://127.0.0.1:9000'

const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, keepAliveTimeout: 120_000, requestTimeout: 0 })
await app.register(proxy, {
  upstream: target,
  undici: { connections: 256, pipelining: 1, keepAliveTimeout: 120_000 },
})
await app.listen({ port, host: '127.0.0.1' })

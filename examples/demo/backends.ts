/**
 * Tiny demo backends for the root proxy.config.ts: each answers with its name and what it
 * received, so `curl` shows requests spreading across them. Started once per process and
 * reused across config reloads (the config is re-evaluated on every save).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

const KEY = Symbol.for('switchyard.demo.backends')
type Registry = Map<string, Promise<string>>
const registry: Registry = ((globalThis as Record<symbol, unknown>)[KEY] as Registry | undefined) ?? new Map()
;(globalThis as Record<symbol, unknown>)[KEY] = registry

/** Starts (once) a backend called `name` on 127.0.0.1 and resolves with its origin URL. */
export function demoBackend(name: string, port = 0): Promise<string> {
  let origin = registry.get(name)
  if (!origin) {
    origin = listen(name, port)
    registry.set(name, origin)
  }
  return origin
}

function listen(name: string, port: number): Promise<string> {
  const server: Server = createServer((req, res) => {
    let size = 0
    req.on('data', (chunk: Buffer) => (size += chunk.length))
    req.on('end', () => {
      const body = JSON.stringify({ backend: name, method: req.method, url: req.url, bodyBytes: size, forwardedFor: req.headers['x-forwarded-for'] ?? null }, null, 2)
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name })
      res.end(`${body}\n`)
    })
  })
  server.unref() // never keeps the process alive on its own
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })
}

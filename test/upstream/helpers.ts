/** Backends that count hits and can be told to fail, hang or slow down, for the balancing tests. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { startBackend, http, type TestServer, type HttpOptions, type HttpResult } from '../helpers/servers.js'

export interface NamedBackend extends TestServer {
  name: string
  hits: number
  /** Status answered to non-health requests (default 200). */
  status: number
  /** Delay before answering, ms (a slow server). */
  delay: number
  /** Hold every request whose path starts with /hold until `release()`. */
  held: ServerResponse[]
  /** Bodies received, in order. */
  bodies: string[]
  release(): void
}

export async function namedBackend(name: string, extra?: (req: IncomingMessage, res: ServerResponse) => boolean): Promise<NamedBackend> {
  const b = {} as NamedBackend
  const server = await startBackend((req, res) => {
    if (extra?.(req, res)) return
    b.hits++
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      b.bodies.push(Buffer.concat(chunks).toString())
      const answer = () => {
        res.writeHead(b.status, { 'x-backend': name, 'content-type': 'text/plain', 'set-cookie': `own-${name}=1` })
        res.end(name)
      }
      if (req.url?.startsWith('/hold')) b.held.push(Object.assign(res, { answer }) as ServerResponse)
      else if (b.delay > 0) setTimeout(answer, b.delay)
      else answer()
    })
  })
  return Object.assign(b, server, {
    name, hits: 0, status: 200, delay: 0, held: [], bodies: [],
    release() {
      for (const res of b.held.splice(0)) (res as ServerResponse & { answer(): void }).answer()
    },
  })
}

/** A port that refuses connections: bound once, then closed. */
export async function closedPort(): Promise<number> {
  const s = createNetServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** Sequential requests; returns the x-backend of each response ('-' when none). */
export async function backendsOf(url: string, count: number, options?: HttpOptions): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < count; i++) out.push(String((await http(url, options)).headers['x-backend'] ?? '-'))
  return out
}

/** Polls `condition` on every macrotask turn until true (no fixed sleeps); fails after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

export type { HttpResult }

/** Real servers on 127.0.0.1 (ports from the OS) for tests, each closed by the caller's t.after. */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse, type Server, type OutgoingHttpHeaders } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Runtime } from '../../runtime/runtime.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import type { AccessRecord, RuntimeLog } from '../../runtime/log.js'

export interface TestServer {
  url: string
  port: number
  server: Server
  close(): Promise<void>
}

export async function startBackend(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server = createServer(handler)
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

/** A backend answering every request with JSON describing what it received. */
export function echoBackend(name = 'echo'): Promise<TestServer> {
  return startBackend((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() })
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name })
      res.end(body)
    })
  })
}

export interface CollectingLog extends RuntimeLog {
  lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }>
  accesses: AccessRecord[]
}

export function collectingLog(): CollectingLog {
  const lines: CollectingLog['lines'] = []
  const accesses: AccessRecord[] = []
  return {
    lines,
    accesses,
    info: (message, fields) => void lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => void lines.push({ level: 'error', message, fields }),
    access: (r) => void accesses.push(r),
  }
}

export interface TestProxy {
  runtime: Runtime
  url: string
  port: number
  log: CollectingLog
  close(): Promise<void>
}

/** A Runtime serving `config` on 127.0.0.1:0, without any file or watcher. */
export async function startProxy(config: SwitchyardConfig): Promise<TestProxy> {
  const log = collectingLog()
  const runtime = new Runtime({ log })
  await runtime.load(resolveConfig({ ...config, listen: { host: '127.0.0.1', port: 0 } }, 'start'))
  const port = runtime.addresses()[0]!.port
  return { runtime, url: `http://127.0.0.1:${port}`, port, log, close: () => runtime.close(1000) }
}

export interface HttpResult {
  status: number
  headers: IncomingMessage['headers']
  rawHeaders: string[]
  body: Buffer
}

export interface HttpOptions {
  method?: string
  headers?: OutgoingHttpHeaders | string[]
  body?: string | Buffer
}

/** One request on a fresh connection (no agent), body buffered. */
export function http(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  let headers = options.headers
  // Node adds Host itself only for object headers.
  if (Array.isArray(headers) && !headers.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'host')) {
    headers = ['Host', new URL(url).host, ...headers]
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

/** Sends raw bytes on a new TCP connection and resolves with everything received until close. */
export async function rawRequest(port: number, bytes: string): Promise<string> {
  const { connect } = await import('node:net')
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes))
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', reject)
  })
}

export interface HeldBackend extends TestServer {
  /** Resolves once a request for the held path is being held. */
  arrived: Promise<void>
  /** Lets held requests finish. */
  release(): void
}

/**
 * A backend answering `backend <url>`, except that requests for `heldPath` wait for `release()`
 * — for tests that need a request in flight at a precise moment (drains, reloads).
 */
export async function heldBackend(heldPath = '/slow'): Promise<HeldBackend> {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let arrive!: () => void
  const arrived = new Promise<void>((r) => (arrive = r))
  const server = await startBackend(async (req, res) => {
    if (req.url === heldPath) {
      arrive()
      await released
    }
    res.end(`backend ${req.url}`)
  })
  return { ...server, arrived, release }
}

export interface ReadOutcome {
  status: number
  headers: IncomingMessage['headers']
  /** Body bytes received before the response ended or broke off. */
  received: number
  /** 'end': a clean end of the body; 'aborted': the connection broke off mid-body. */
  outcome: 'end' | 'aborted'
}

/** GETs `url` on a fresh connection and reads the body to its clean end or until it breaks off. */
export async function readUntilEndOrAbort(url: string): Promise<ReadOutcome> {
  const req = httpRequest(url, { agent: false })
  req.end()
  const res = await new Promise<IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject))
  let received = 0
  res.on('data', (c: Buffer) => (received += c.length))
  const outcome = await new Promise<'end' | 'aborted'>((resolve) => {
    res.on('end', () => resolve('end'))
    res.on('aborted', () => resolve('aborted'))
    res.on('error', () => resolve('aborted'))
  })
  return { status: res.statusCode!, headers: res.headers, received, outcome }
}


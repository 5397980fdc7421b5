/**
 * Raw-byte tools for the hardening suite: a client that keeps its TCP connection open and
 * reads responses off it one at a time, and a backend that sees and sends exact bytes.
 */
import { connect, createServer, type Server, type Socket, type AddressInfo } from 'node:net'
import { startProxy, type TestProxy } from '../helpers/servers.js'
import type { SwitchyardConfig } from '../../src/config/types.js'

export interface RawResponse {
  status: number
  /** The status line and header lines, as received. */
  head: string
  headers: Array<[string, string]>
  body: Buffer
  header(name: string): string | undefined
}

/** Thrown by RawClient.response when the connection closes before a complete response. */
export class ClosedEarly extends Error {
  constructor(readonly partial: string) {
    super(`connection closed before a complete response (got ${JSON.stringify(partial.slice(0, 200))})`)
  }
}

export class RawClient {
  #buf = Buffer.alloc(0)
  #closed = false
  #wake: (() => void) | undefined
  readonly closed: Promise<void>

  private constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, c])
      this.#wake?.()
    })
    socket.on('error', () => {})
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.#closed = true
      this.#wake?.()
      resolve()
    }))
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)))
      socket.once('error', reject)
    })
  }

  get isClosed(): boolean {
    return this.#closed
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes)
  }

  /** The next complete response on the connection (`head: true` for a response to HEAD). */
  async response(options: { head?: boolean } = {}): Promise<RawResponse> {
    for (;;) {
      const parsed = parseResponse(this.#buf, options.head ?? false, this.#closed)
      if (parsed) {
        this.#buf = this.#buf.subarray(parsed.used)
        return parsed.response
      }
      if (this.#closed) throw new ClosedEarly(this.#buf.toString('latin1'))
      await new Promise<void>((resolve) => (this.#wake = resolve))
    }
  }

  /** Everything not yet read, once the peer has closed the connection. */
  async rest(): Promise<string> {
    await this.closed
    const s = this.#buf.toString('latin1')
    this.#buf = Buffer.alloc(0)
    return s
  }

  destroy(): void {
    this.socket.destroy()
  }
}

function parseResponse(buf: Buffer, isHead: boolean, closed: boolean): { response: RawResponse; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const head = buf.toString('latin1', 0, end)
  const lines = head.split('\r\n')
  const status = Number(lines[0]!.split(' ')[1])
  const headers = lines.slice(1).map((l): [string, string] => {
    const colon = l.indexOf(':')
    return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()]
  })
  const header = (name: string) => headers.find(([n]) => n === name)?.[1]
  const response = (body: Buffer): RawResponse => ({ status, head, headers, body, header })
  let at = end + 4
  if (status < 200) return { response: response(Buffer.alloc(0)), used: at }
  if (isHead || status === 204 || status === 304) return { response: response(Buffer.alloc(0)), used: at }
  const te = header('transfer-encoding')
  if (te !== undefined && /chunked/i.test(te)) {
    const chunks: Buffer[] = []
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at)
      if (lineEnd < 0) return undefined
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16)
      if (buf.length < lineEnd + 2 + size + 2) return undefined
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd)
        if (trailerEnd < 0) return undefined
        return { response: response(Buffer.concat(chunks)), used: trailerEnd + 4 }
      }
      chunks.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  const cl = header('content-length')
  if (cl !== undefined) {
    const n = Number(cl)
    if (buf.length < at + n) return undefined
    return { response: response(buf.subarray(at, at + n)), used: at + n }
  }
  // Close-delimited.
  return closed ? { response: response(buf.subarray(at)), used: buf.length } : undefined
}

/** A request as a raw backend saw it. */
export interface SeenRequest {
  /** Request line and header lines. */
  head: string
  line: string
  headers: Array<[string, string]>
  body: string
  socket: Socket
  /** 0 for the first request on its connection. */
  index: number
  header(name: string): string | undefined
  all(name: string): string[]
}

export interface RawBackend {
  url: string
  port: number
  requests: SeenRequest[]
  /** Every byte received, over all connections, in order of arrival. */
  received: string
  connections: number
  /** Connections the proxy (or the backend) has closed so far. */
  closedConnections: number
  close(): Promise<void>
}

/**
 * A backend on a raw socket: `reply` gets each request (bodies framed by Content-Length or
 * chunked are read first) and writes whatever bytes it likes. Default reply: 200 with the
 * request line as the body.
 */
export async function rawBackend(reply: (req: SeenRequest) => void = okReply): Promise<RawBackend> {
  const sockets = new Set<Socket>()
  const state: RawBackend = {
    url: '', port: 0, requests: [], received: '', connections: 0, closedConnections: 0,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    state.connections++
    socket.on('close', () => {
      sockets.delete(socket)
      state.closedConnections++
    })
    socket.on('error', () => {})
    let buf = ''
    let index = 0
    socket.on('data', (c: Buffer) => {
      const text = c.toString('latin1')
      state.received += text
      buf += text
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buf.slice(0, end)
        const lines = head.split('\r\n')
        const headers = lines.slice(1).map((l): [string, string] => {
          const colon = l.indexOf(':')
          return [l.slice(0, colon).toLowerCase(), l.slice(colon + 1).trim()]
        })
        const header = (name: string) => headers.find(([n]) => n === name)?.[1]
        let rest = buf.slice(end + 4)
        let body = ''
        const cl = header('content-length')
        if (cl !== undefined) {
          if (rest.length < Number(cl)) return
          body = rest.slice(0, Number(cl))
          rest = rest.slice(Number(cl))
        } else if (header('transfer-encoding') !== undefined) {
          const last = rest.indexOf('0\r\n\r\n')
          if (last < 0) return
          body = rest.slice(0, last + 5)
          rest = rest.slice(last + 5)
        }
        buf = rest
        const req: SeenRequest = {
          head, line: lines[0]!, headers, body, socket, index: index++, header,
          all: (name) => headers.filter(([n]) => n === name).map(([, v]) => v),
        }
        state.requests.push(req)
        reply(req)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  state.url = `http://127.0.0.1:${state.port}`
  return state
}

export function okReply(req: SeenRequest): void {
  const body = req.line
  req.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`)
}

/** A proxy forwarding everything to `backend`, both closed after the test. */
export async function proxyFor(
  t: { after: (fn: () => Promise<void>) => void },
  backend: RawBackend,
  upstream: Record<string, unknown> = {},
  extra: Partial<SwitchyardConfig> = {},
): Promise<TestProxy> {
  const proxy = await startProxy({
    ...extra,
    upstreams: { b: { servers: [backend.url], ...upstream } },
    routes: [...((extra.routes as unknown[] | undefined) ?? []), { to: 'b' }],
  } as SwitchyardConfig)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  return proxy
}

/** Sends `bytes` on a new connection and returns the first response and whether the proxy then closed. */
export async function exchange(port: number, bytes: string, head = false): Promise<{ res: RawResponse; closed: boolean; rest: string }> {
  const c = await RawClient.open(port)
  c.write(bytes)
  const res = await c.response({ head })
  // A connection the proxy keeps open is probed with a second request (answered → still open).
  if (!c.isClosed && !/connection: close/i.test(res.head)) {
    c.destroy()
    return { res, closed: false, rest: '' }
  }
  const rest = await c.rest()
  return { res, closed: true, rest }
}

/** Resolves once `check` holds, re-checking after each turn of the event loop (no timers). */
export async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve))
}

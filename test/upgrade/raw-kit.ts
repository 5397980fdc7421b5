/** Raw-socket helpers for the upgrade tests: a TCP upstream and a client that see every byte. */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net'
import { startProxy, type TestProxy } from '../helpers/servers.js'
import type { SwitchyardConfig } from '../../src/config/types.js'

type After = { after(fn: () => unknown): void }

/** A proxy closed after the test. */
export async function proxyFor(t: After, config: SwitchyardConfig): Promise<TestProxy> {
  const proxy = await startProxy(config)
  t.after(() => proxy.close())
  return proxy
}

export interface RawConn { socket: Socket; received: string; ended: boolean }

export interface RawUpstream {
  url: string
  /** Each connection's socket and the bytes it received so far. */
  conns: RawConn[]
  server: Server
}

/** A TCP upstream: `onHead` gets each connection once its request head arrived. */
export async function rawUpstream(t: After, onHead: (socket: Socket, head: string) => void): Promise<RawUpstream> {
  const conns: RawUpstream['conns'] = []
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const conn = { socket, received: '', ended: false }
    conns.push(conn)
    let answered = false
    socket.on('data', (d: Buffer) => {
      conn.received += d.toString('latin1')
      if (!answered && conn.received.includes('\r\n\r\n')) {
        answered = true
        onHead(socket, conn.received)
      }
    })
    socket.on('end', () => (conn.ended = true))
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => {
    for (const c of conns) c.socket.destroy()
    server.close(() => resolve())
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, conns, server }
}

/** The body of one raw HTTP/1.1 response (Content-Length or chunked). */
export function bodyOf(response: string): string {
  const at = response.indexOf('\r\n\r\n')
  const head = response.slice(0, at).toLowerCase()
  let rest = response.slice(at + 4)
  if (!head.includes('transfer-encoding: chunked')) return rest
  let body = ''
  for (;;) {
    const eol = rest.indexOf('\r\n')
    const size = parseInt(rest.slice(0, eol), 16)
    if (size === 0) return body
    body += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 2 + size + 2)
  }
}

export function handshake(path = '/', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n${extra}\r\n`
}

export interface RawClient {
  socket: Socket
  /** Everything received so far (latin1). */
  text(): string
  /** The proxy ended its side (or the connection closed). */
  ended: Promise<void>
  /** The connection is closed. */
  closed: Promise<void>
}

/**
 * A client connection collecting what it receives, destroyed after the test: it is half-open
 * (allowHalfOpen) once the proxy ends its side, and would stay open until then.
 */
export function client(t: After, port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    t.after(() => socket.destroy())
    let received = ''
    const closed = new Promise<void>((r) => socket.once('close', () => r()))
    const ended = Promise.race([new Promise<void>((r) => socket.once('end', r)), closed])
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => {}) // a reset shows as 'close'
      resolve({ socket, text: () => received, ended, closed })
    })
  })
}

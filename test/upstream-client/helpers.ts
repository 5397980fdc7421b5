/** A raw-socket server writing exact bytes, and a promise-shaped request through an UpstreamPool. */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { UpstreamPool } from '../../runtime/upstream-client/pool.js'
import type { UpstreamHandler, UpstreamRequest } from '../../runtime/upstream-client/types.js'

export interface SeenHead {
  /** Request line and header lines. */
  text: string
  line: string
  socket: Socket
  /** 0 for the first request on its connection. */
  index: number
  /** Number of the connection it came on (0, 1, …). */
  connection: number
  header(name: string): string | undefined
}

export interface RawServer {
  url: string
  port: number
  heads: SeenHead[]
  /** Connections accepted / closed so far. */
  connections: number
  closedConnections: number
  /** Resolves once `n` connections have closed. */
  closed(n: number): Promise<void>
  close(): Promise<void>
}

/**
 * Calls `onHead` for each request head (bodies are not read: use it for body-less requests,
 * or read the socket yourself). `onHead` writes whatever bytes it likes to `head.socket`.
 */
export async function rawServer(onHead: (head: SeenHead) => void): Promise<RawServer> {
  const sockets = new Set<Socket>()
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const state: RawServer = {
    url: '', port: 0, heads: [], connections: 0, closedConnections: 0,
    closed: (n) => new Promise<void>((resolve) => {
      if (state.closedConnections >= n) resolve()
      else waiters.push({ n, resolve })
    }),
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
  const server: Server = createServer((socket) => {
    const connection = state.connections++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      state.closedConnections++
      for (const w of waiters.splice(0)) {
        if (state.closedConnections >= w.n) w.resolve()
        else waiters.push(w)
      }
    })
    let buf = ''
    let index = 0
    socket.on('data', (c: Buffer) => {
      buf += c.toString('latin1')
      for (;;) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        const text = buf.slice(0, end)
        buf = buf.slice(end + 4)
        const lines = text.split('\r\n')
        const fields = lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const)
        const head: SeenHead = {
          text, line: lines[0]!, socket, index: index++, connection,
          header: (name) => fields.find(([n]) => n === name)?.[1],
        }
        state.heads.push(head)
        onHead(head)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.port = (server.address() as AddressInfo).port
  state.url = `http://127.0.0.1:${state.port}`
  return state
}

export const ok = (body = 'ok', extra = ''): string => `HTTP/1.1 200 OK\r\n${extra}content-length: ${body.length}\r\n\r\n${body}`

export interface Result {
  status: number
  headers: string[]
  body: Buffer
  header(name: string): string | undefined
}

/** Records every callback; `result` settles on onComplete/onError. */
export class Collector implements UpstreamHandler {
  readonly result: Promise<Result>
  readonly chunks: Buffer[] = []
  status = 0
  headers: string[] = []
  abort: ((err?: Error) => void) | undefined
  resume: (() => void) | undefined
  calls: string[] = []
  #resolve!: (r: Result) => void
  #reject!: (err: Error) => void

  constructor(readonly pauseOnData = false) {
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    this.result.catch(() => {}) // a test may look at it later, or not at all
  }

  onConnect(abort: (err?: Error) => void): void {
    this.calls.push('connect')
    this.abort = abort
  }

  onHeaders(status: number, headers: string[], resume: () => void): boolean {
    this.calls.push(`headers ${status}`)
    this.status = status
    this.headers = headers
    this.resume = resume
    return true
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk))
    return !this.pauseOnData
  }

  onComplete(): void {
    this.calls.push('complete')
    const headers = this.headers
    this.#resolve({
      status: this.status, headers, body: Buffer.concat(this.chunks),
      header: (name) => {
        for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === name) return headers[i + 1]
        return undefined
      },
    })
  }

  onError(err: Error): void {
    this.calls.push(`error ${(err as { code?: string }).code}`)
    this.#reject(err)
  }
}

export function send(pool: UpstreamPool, request: Partial<UpstreamRequest> = {}, handler = new Collector()): Promise<Result> {
  pool.dispatch({ method: 'GET', path: '/', headers: [], body: null, ...request }, handler)
  return handler.result
}

/** Rejects with the error's code. */
export async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), message: (err as Error).message }
  }
  throw new Error('expected the request to fail')
}

/**
 * Resolves once `read()` has not changed for `quietMs` (sampled every 25 ms) — for proving a
 * transfer stopped (backpressure), which has no event of its own.
 */
export async function quiescent(read: () => number, quietMs = 250): Promise<number> {
  let last = -1
  let since = Date.now()
  for (;;) {
    const value = read()
    if (value !== last) {
      last = value
      since = Date.now()
    } else if (Date.now() - since >= quietMs) {
      return value
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

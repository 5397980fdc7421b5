/** WebSocket helpers for the upgrade tests: a real echo upstream and client from the `ws` package. */
import { WebSocket, WebSocketServer } from 'ws'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type WsSocket = WebSocket

const ws = { WebSocket, WebSocketServer }

export interface WsUpstream {
  name: string
  url: string
  /** Handshake requests as they arrived (refused ones too). */
  handshakes: IncomingMessage[]
  /** Open server-side sockets. */
  readonly sockets: Set<WsSocket>
  close(): Promise<void>
}

export interface WsUpstreamOptions {
  /** Answer this handshake with a plain response instead of switching (raw bytes written). */
  refuse?: (req: IncomingMessage) => string | undefined
  /** Never answer the handshake. */
  hold?: boolean
  /** Called with each new server-side socket (after the echo handler is attached). */
  onOpen?: (socket: WsSocket, req: IncomingMessage) => void
}

/**
 * A WebSocket upstream on 127.0.0.1: echoes text as `<name>:<text>` and binary as is; offers the
 * `chat` subprotocol and permessage-deflate. Plain requests get `426`.
 */
export async function wsUpstream(name = 'ws', options: WsUpstreamOptions = {}): Promise<WsUpstream> {
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(426, { 'content-type': 'text/plain' })
    res.end(`${name}: upgrade required\n`)
  })
  const wss = new ws.WebSocketServer({ noServer: true, perMessageDeflate: true, maxPayload: 64 * 1024 * 1024, handleProtocols: (p) => (p.has('chat') ? 'chat' : false) })
  const handshakes: IncomingMessage[] = []
  const sockets = new Set<WsSocket>()
  const raw = new Set<Socket>()
  server.on('connection', (s: Socket) => {
    raw.add(s)
    s.on('close', () => raw.delete(s))
  })
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    handshakes.push(req)
    socket.on('error', () => {})
    if (options.hold) return
    const refusal = options.refuse?.(req)
    if (refusal !== undefined) return void socket.end(refusal)
    wss.handleUpgrade(req, socket, head, (client) => {
      sockets.add(client)
      client.on('close', () => sockets.delete(client))
      client.on('error', () => {})
      client.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) client.send(data, { binary: true })
        else client.send(`${name}:${data.toString()}`)
      })
      options.onOpen?.(client, req)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    handshakes,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of wss.clients) s.terminate()
      for (const s of raw) s.destroy()
      wss.close()
      server.close(() => resolve())
    }),
  }
}

/** A refused handshake, as the client saw it. */
export class Refused extends Error {
  constructor(readonly status: number, readonly headers: IncomingMessage['headers'], readonly body: string) {
    super(`handshake refused: ${status}`)
  }
}

export interface ConnectOptions {
  protocols?: string[]
  headers?: Record<string, string>
  /** Offer permessage-deflate (ws's default: yes). */
  deflate?: boolean
  /** Receives the 101 response. */
  onUpgrade?: (res: IncomingMessage) => void
}

/** Opens a WebSocket; rejects with `Refused` on a non-101 answer, or with the error. */
export function wsConnect(url: string, options: ConnectOptions = {}): Promise<WsSocket> {
  const socket = new ws.WebSocket(url.replace(/^http/, 'ws'), options.protocols, {
    headers: options.headers ?? {}, perMessageDeflate: options.deflate ?? true, maxPayload: 64 * 1024 * 1024,
  })
  return new Promise((resolve, reject) => {
    if (options.onUpgrade) socket.once('upgrade', options.onUpgrade)
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
    socket.once('unexpected-response', (req: { destroy(): void }, res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        req.destroy()
        reject(new Refused(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString()))
      })
    })
  })
}

/** The refusal a handshake gets (fails the test if it opens). */
export async function refusal(url: string, options: ConnectOptions = {}): Promise<Refused> {
  try {
    const opened = await wsConnect(url, options)
    opened.terminate()
  } catch (err) {
    if (err instanceof Refused) return err
    throw err
  }
  throw new Error('the handshake was not refused')
}

export function nextMessage(socket: WsSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => socket.once('message', (data: Buffer, binary: boolean) => resolve({ data, binary })))
}

/** Resolves with the close code and reason once the socket is closed (at once if it is). */
export function closed(socket: WsSocket): Promise<{ code: number; reason: string }> {
  if (socket.readyState === 3) return Promise.resolve({ code: 0, reason: '' })
  return new Promise((resolve) => socket.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })))
}

/** Polls `check` until it holds (for state that has no event: access records, counters). */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

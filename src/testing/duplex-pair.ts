/**
 * Two connected in-memory streams standing in for the two ends of a TCP connection (Node 20
 * has no `stream.duplexPair`). What one end writes, the other reads; ending one ends the
 * other's readable side; destroying one closes the other. They carry the few socket methods
 * node:http calls (setNoDelay, setTimeout, setKeepAlive, ref/unref, address) as no-ops, so an
 * http.Server fed `server.emit('connection', end)` and an http client created with
 * `createConnection: () => otherEnd` speak real HTTP/1.1 to each other without a port.
 */
import { Duplex } from 'node:stream'

export interface SocketFacts {
  remoteAddress: string
  remotePort: number
  localAddress: string
  localPort: number
}

export class MemorySocket extends Duplex {
  peer!: MemorySocket
  remoteAddress: string
  remotePort: number
  localAddress: string
  localPort: number
  readonly remoteFamily = 'IPv4'
  readonly connecting = false
  readonly encrypted = undefined

  constructor(facts: SocketFacts) {
    // A TCP socket closes its writable side when the peer ends (allowHalfOpen: false).
    super({ allowHalfOpen: false })
    this.remoteAddress = facts.remoteAddress
    this.remotePort = facts.remotePort
    this.localAddress = facts.localAddress
    this.localPort = facts.localPort
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(Object.assign(new Error('write after the peer closed'), { code: 'EPIPE' }))
    this.peer.push(chunk)
    callback()
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null)
    callback()
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    const peer = this.peer
    // Like a closed TCP connection: the peer reads EOF (if it had not yet), then closes.
    if (!peer.destroyed) {
      if (!peer.readableEnded) peer.push(null)
      queueMicrotask(() => peer.destroy())
    }
    callback(error)
  }

  setNoDelay(): this { return this }
  setKeepAlive(): this { return this }
  setTimeout(_ms: number, callback?: () => void): this {
    if (callback) this.once('timeout', callback)
    return this
  }
  ref(): this { return this }
  unref(): this { return this }
  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort }
  }
}

/** [client end, server end] of one in-memory connection from `clientIp:clientPort`. */
export function duplexPair(clientIp: string, clientPort: number): [MemorySocket, MemorySocket] {
  const client = new MemorySocket({ remoteAddress: '127.0.0.1', remotePort: 80, localAddress: clientIp, localPort: clientPort })
  const server = new MemorySocket({ remoteAddress: clientIp, remotePort: clientPort, localAddress: '127.0.0.1', localPort: 80 })
  client.peer = server
  server.peer = client
  return [client, server]
}

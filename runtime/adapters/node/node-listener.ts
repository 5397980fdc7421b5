/** The node:http server adapter: one http.Server per listen address, feeding Runtime.handle. */
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ResolvedConfig, ResolvedListen } from '../../resolved-config.js'

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void

export class NodeListener {
  readonly server: Server
  /** Requests in progress on this listener (for draining). */
  active = 0

  constructor(readonly address: ResolvedListen, options: ResolvedConfig['server'], onRequest: RequestListener) {
    this.server = createServer({
      maxHeaderSize: options.maxHeaderSize,
      headersTimeout: options.headersTimeout,
      requestTimeout: 0, // bodies may stream for long; idle limits are the upstream's bodyIdle
      keepAliveTimeout: options.keepAliveTimeout,
      requireHostHeader: true,
      joinDuplicateHeaders: false,
      noDelay: true,
    }, onRequest)
    // Answer 100-continue for the upstream: the body is streamed on once the request is forwarded.
    this.server.on('checkContinue', (req, res) => {
      res.writeContinue()
      this.server.emit('request', req, res)
    })
    // No tunnelling: answer CONNECT instead of dropping the connection silently.
    this.server.on('connect', (_req, socket) => {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')
    })
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy()
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${text.length + 1}\r\nconnection: close\r\n\r\n${text}\n`)
    })
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.address.port, this.address.host, () => {
        this.server.off('error', reject)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stop accepting; close idle keep-alive connections; wait up to `timeoutMs` for the rest. */
  async close(timeoutMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    const timer = setTimeout(() => this.server.closeAllConnections(), timeoutMs)
    // Connections that finish a request while draining are closed instead of kept alive.
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 100)
    await closed
    clearTimeout(timer)
    clearInterval(idleSweep)
  }
}

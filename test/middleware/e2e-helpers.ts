/** Helpers for the middleware tests that run through a real proxy. */
import { request as httpRequest, type IncomingMessage } from 'node:http'
export { closedPort, until } from '../upstream/helpers.js'

/** A request whose body is sent chunked (no Content-Length), in `parts`. */
export function chunkedRequest(url: string, parts: Buffer[], headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked', ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    // The proxy may answer (413) and close before we finish writing: that is fine here.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') reject(err)
    })
    let i = 0
    const next = (): void => {
      if (i >= parts.length) return void req.end()
      const ok = req.write(parts[i++])
      if (ok) setImmediate(next)
      else req.once('drain', next)
    }
    next()
  })
}

/** Reads a request body of known, small length into one Buffer (for replay by a retry). */
import type { Readable } from 'node:stream'

/** Calls `done(body)` once, with undefined when the client went away first. */
export function readBody(req: Readable, length: number, done: (body: Buffer | undefined) => void): void {
  const body = Buffer.allocUnsafe(length)
  let offset = 0
  let settled = false
  const finish = (ok: boolean) => {
    if (settled) return
    settled = true
    req.off('data', onData)
    req.off('end', onEnd)
    req.off('error', onFail)
    req.off('close', onClose)
    done(ok ? body.subarray(0, offset) : undefined)
  }
  const onData = (chunk: Buffer) => {
    if (offset + chunk.length > length) return finish(false) // more than Content-Length: Node rejects this earlier
    chunk.copy(body, offset)
    offset += chunk.length
  }
  const onEnd = () => finish(offset === length)
  const onFail = () => finish(false)
  const onClose = () => finish(offset === length && req.readableEnded)
  req.on('data', onData)
  req.on('end', onEnd)
  req.on('error', onFail)
  req.on('close', onClose)
}

/** What the connection needs to know from a response head: how the body is framed, and the keep-alive hint. */

export interface HeadFacts {
  /** The Content-Length value as sent ('' when absent; llhttp has already checked it is one valid number). */
  contentLength: string
  /** A Transfer-Encoding field is present (llhttp frames the body: chunked, or until EOF). */
  transferEncoding: boolean
  /** `Keep-Alive: timeout=N` in ms, or -1 when absent. */
  keepAliveHint: number
  /** The Connection field's value ('' when absent). */
  connection: string
}

/** One pass over the head; only names of the three lengths involved are lowercased. */
export function scanHead(headers: readonly string[], into: HeadFacts): void {
  into.contentLength = ''
  into.transferEncoding = false
  into.keepAliveHint = -1
  into.connection = ''
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!
    switch (name.length) {
      case 10: {
        const lower = name.toLowerCase()
        if (lower === 'keep-alive') into.keepAliveHint = keepAliveTimeout(headers[i + 1]!)
        else if (lower === 'connection') into.connection = into.connection === '' ? headers[i + 1]! : `${into.connection}, ${headers[i + 1]!}`
        break
      }
      case 14:
        if (name.toLowerCase() === 'content-length') into.contentLength = headers[i + 1]!
        break
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') into.transferEncoding = true
        break
    }
  }
}

const TIMEOUT = /timeout=(\d+)/i
// A server sends the same value on every response: remember the last one parsed.
let lastValue = ''
let lastTimeout = -1

/** `Keep-Alive: timeout=5, max=100` → 5000 (ms); -1 when there is no timeout parameter. */
export function keepAliveTimeout(value: string): number {
  if (value === lastValue) return lastTimeout
  const m = TIMEOUT.exec(value)
  lastValue = value
  lastTimeout = m === null ? -1 : Number(m[1]) * 1000
  return lastTimeout
}

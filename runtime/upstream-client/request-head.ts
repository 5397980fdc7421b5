/**
 * The request head, built by string concatenation from the flat [name, value, …] list the
 * forwarder produces, and written as one latin1 string. The client owns the framing:
 * `Content-Length` / `Transfer-Encoding` / `Connection` in the list are not copied (a
 * Content-Length there is the declared length of a streamed body), and `Host` comes first.
 * Every piece is validated as undici did, so no CR/LF can reach the wire from a header a hook
 * or a config rule produced.
 */
import { UpstreamClientError } from './errors.js'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** Field values: HTAB, visible ASCII, space, obs-text (RFC 9110 §5.5). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/
/** Request targets: no controls, no space, nothing beyond latin1. */
const INVALID_TARGET = /[^\x21-\xff]/
const DIGITS = /^\d+$/

/** Methods whose semantics anticipate a body: sent with `content-length: 0` when they have none (RFC 9110 §8.6). */
const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH', 'QUERY', 'PROPFIND', 'PROPPATCH'])

export function expectsPayload(method: string): boolean {
  return EXPECTS_PAYLOAD.has(method)
}

/** The prepared parts of a head; the connection adds `connection:` and the framing when it writes. */
export interface PreparedHead {
  /** Request line and Host line. */
  start: string
  /** Every other field line, each ending in CRLF. */
  fields: string
  /** The Content-Length the list declared, or -1. */
  declaredLength: number
}

/** Fills `into`; throws SWITCHYARD_BAD_UPSTREAM_REQUEST for anything that cannot go on the wire. */
export function prepareHead(into: PreparedHead, method: string, path: string, headers: readonly string[], defaultHost: string): void {
  if (!TOKEN.test(method)) throw invalid(`method ${JSON.stringify(method)}`)
  if (path.length === 0 || INVALID_TARGET.test(path) || (path.charCodeAt(0) !== 47 /* / */ && path !== '*')) throw invalid(`target ${JSON.stringify(path)}`)
  let host: string | undefined
  let fields = ''
  let declared = -1
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!
    const value = headers[i + 1]!
    // Framing and connection fields: only names of these lengths can be one.
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          host ??= value
          continue
        }
        break
      case 7:
        if (name.toLowerCase() === 'upgrade') continue
        break
      case 10: {
        const lower = name.toLowerCase()
        if (lower === 'connection' || lower === 'keep-alive') continue
        break
      }
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (!DIGITS.test(value)) throw invalid(`content-length ${JSON.stringify(value)}`)
          if (declared === -1) declared = Number(value)
          else if (declared !== Number(value)) throw invalid('conflicting content-length values')
          continue
        }
        break
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') continue
        break
    }
    if (!TOKEN.test(name)) throw invalid(`header name ${JSON.stringify(name)}`)
    if (INVALID_VALUE.test(value)) throw invalid(`value of header ${name}`)
    fields += `${name}: ${value}\r\n`
  }
  host ??= defaultHost
  if (INVALID_VALUE.test(host)) throw invalid('value of header host')
  into.start = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`
  into.fields = fields
  into.declaredLength = declared
}

function invalid(what: string): UpstreamClientError {
  return new UpstreamClientError('SWITCHYARD_BAD_UPSTREAM_REQUEST', `invalid upstream request: ${what}`)
}

/**
 * What the listener decides about an HTTP/1.1 `Upgrade` request before routing, and how it
 * hands one back to the HTTP server as a plain request.
 *
 * node:http sends every request carrying `Connection: upgrade` + `Upgrade` to the 'upgrade'
 * event once a listener exists, with the parser already detached and any body left unparsed
 * in the socket. Only requests that may become a tunnel stay there: HTTP/1.1, no body, and a
 * protocol other than `h2c` (never tunnelled, as nginx: an h2c upgrade would let a client talk
 * HTTP/2 straight to the upstream past every check of the proxy). Requests node:http answers
 * itself on the plain path — no Host (400, RFC 9112 §3.2), an expectation other than
 * `100-continue` (417) — go there and get that answer. Everything else — and
 * anything the router does not forward — is served as if `Upgrade` had not been asked for:
 * its head is rebuilt without the `upgrade` token of `Connection` and fed back to the server.
 */
import type { IncomingMessage } from 'node:http'

/** The `Upgrade` value when the request may be tunnelled, else undefined. */
export function tunnelProtocol(req: IncomingMessage): string | undefined {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return undefined
  let protocol: string | undefined
  let host = false
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase()
    const value = raw[i + 1]!
    if (name === 'upgrade') {
      if (protocol !== undefined) return undefined // several Upgrade fields: ambiguous
      protocol = value.trim()
    } else if (name === 'host') {
      host = true
    } else if (name === 'transfer-encoding') {
      return undefined
    } else if (name === 'content-length' && value.trim() !== '0') {
      return undefined
    } else if (name === 'expect' && !CONTINUE.test(value)) {
      return undefined
    }
    // (`100-continue` needs no interim answer without a body, RFC 9110 §10.1.1; it is not sent upstream.)
  }
  if (!host || protocol === undefined || protocol === '') return undefined
  for (const token of protocol.split(',')) if (token.trim().toLowerCase() === 'h2c') return undefined
  return protocol
}

/** The expectation node:http honours (its `continueExpression`); any other gets its 417. */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i

/**
 * The request's head as it arrived, minus the `upgrade` token of `Connection` (llhttp then
 * parses it as a plain request). Names and values are written back as llhttp read them
 * (latin1), and without the optional space after ':', so the head is never longer than the
 * original and meets the same `maxHeaderSize`.
 */
export function plainRequestHead(req: IncomingMessage): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    let value = raw[i + 1]!
    if (raw[i]!.toLowerCase() === 'connection') {
      value = value.split(',').filter((t) => t.trim().toLowerCase() !== 'upgrade').join(',').trim()
      if (value === '') continue
    }
    head += `${raw[i]}:${value}\r\n`
  }
  return Buffer.from(`${head}\r\n`, 'latin1')
}

// Minimal HTTP/1.1 head parsing and proxy header rewriting shared by the ceiling spikes.
// FOR MEASUREMENT ONLY. It is strict where it is cheap to be (token names, no obs-fold, no bare
// LF, one Host, one numeric Content-Length, no request bodies, no Transfer-Encoding upstream
// other than an error), but it is NOT a production parser: it has not been fuzzed or checked
// against llhttp's smuggling cases. See FINDINGS.md.

const CRLFCRLF = Buffer.from('\r\n\r\n')
export const MAX_HEAD = 16 * 1024

// field-name = token; field-value: no CTLs except HTAB (obs-text allowed, as llhttp does by default)
const LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[\t ]*([^\x00-\x08\x0a-\x1f\x7f]*?)[\t ]*$/
const REQUEST_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[^\x00-\x20\x7f]*) HTTP\/1\.([01])$/
const STATUS_LINE = /^HTTP\/1\.[01] ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/

const HOP = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'proxy',
])
export function isHopByHop(lower) {
  return HOP.has(lower) || lower.startsWith('proxy-')
}

/**
 * Parses one request head starting at `start`. Returns undefined if incomplete, an object with
 * `error` (status) if invalid, else { end, method, target, minor, headers: [name, value, …],
 * host, close }.
 */
export function parseRequest(buf, start) {
  const idx = buf.indexOf(CRLFCRLF, start)
  if (idx === -1) return buf.length - start > MAX_HEAD ? { error: 431 } : undefined
  if (idx - start > MAX_HEAD) return { error: 431 }
  const head = buf.toString('latin1', start, idx)
  const lines = head.split('\r\n')
  const rl = REQUEST_LINE.exec(lines[0])
  if (rl === null) return { error: 400 }
  const headers = []
  let host
  let close = rl[3] === '0'
  for (let i = 1; i < lines.length; i++) {
    const m = LINE.exec(lines[i])
    if (m === null) return { error: 400 } // bare LF, obs-fold, bad name, space before colon, CTL
    const name = m[1]
    const value = m[2]
    const lower = name.length === 4 || name.length === 10 || name.length === 14 || name.length === 17 ? name.toLowerCase() : ''
    if (lower === 'host') {
      if (host !== undefined) return { error: 400 }
      host = value
    } else if (lower === 'content-length') {
      if (value !== '0') return { error: 400 } // bodies not supported by the spike: refuse, never guess
    } else if (lower === 'transfer-encoding') {
      return { error: 400 }
    } else if (lower === 'connection') {
      if (/(^|,)[\t ]*close[\t ]*(,|$)/i.test(value)) close = true
    }
    headers.push(name, value)
  }
  if (host === undefined && rl[3] === '1') return { error: 400 }
  return { end: idx + 4, method: rl[1], target: rl[2], minor: rl[3], headers, host: host ?? '', close }
}

/**
 * Parses one response head. Returns undefined if incomplete, { error } if invalid, else
 * { end, status, headers: [name, value, …] (hop-by-hop removed), length: bytes of body or -1 }.
 */
export function parseResponse(buf, start, method) {
  const idx = buf.indexOf(CRLFCRLF, start)
  if (idx === -1) return buf.length - start > MAX_HEAD ? { error: 502 } : undefined
  const head = buf.toString('latin1', start, idx)
  const lines = head.split('\r\n')
  const sl = STATUS_LINE.exec(lines[0])
  if (sl === null) return { error: 502 }
  const status = Number(sl[1])
  const headers = []
  let length = -1
  let nominated
  let close = false
  for (let i = 1; i < lines.length; i++) {
    const m = LINE.exec(lines[i])
    if (m === null) return { error: 502 }
    const name = m[1]
    const value = m[2]
    const lower = name.toLowerCase()
    if (lower === 'content-length') {
      if (length !== -1 || !/^\d{1,15}$/.test(value)) return { error: 502 }
      length = Number(value)
      headers.push(name, value)
      continue
    }
    if (lower === 'transfer-encoding') return { error: 502 } // chunked decoding not in the spike
    if (lower === 'connection') {
      for (const t of value.split(',')) {
        const n = t.trim().toLowerCase()
        if (n === 'close') close = true
        else if (n && n !== 'keep-alive') (nominated ??= new Set()).add(n)
      }
      continue
    }
    if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    headers.push(name, value)
  }
  let out = headers
  if (nominated) {
    out = []
    for (let i = 0; i < headers.length; i += 2) if (!nominated.has(headers[i].toLowerCase())) out.push(headers[i], headers[i + 1])
  }
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) length = 0
  else if (length === -1) return { error: 502 } // read-until-close not supported in the spike
  return { end: idx + 4, status, headers: out, length, close }
}

/**
 * Upstream request headers from the client's [name, value, …] list, the same rules as
 * Switchyard's buildUpstreamHeaders (hop-by-hop + Connection-nominated dropped, Host set,
 * X-Forwarded-For appended, X-Forwarded-Proto/-Host set).
 */
export function upstreamHeaders(raw, clientIp, clientHost, upstreamHost) {
  let nominated
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 10 && raw[i].toLowerCase() === 'connection') {
      for (const t of raw[i + 1].split(',')) {
        const n = t.trim().toLowerCase()
        if (n && n !== 'close' && n !== 'keep-alive') (nominated ??= new Set()).add(n)
      }
    }
  }
  const out = []
  let xff
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]
    const lower = name.toLowerCase()
    const value = raw[i + 1]
    if (lower === 'host' || isHopByHop(lower) || nominated?.has(lower)) continue
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? value : `${xff}, ${value}`
      continue
    }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue
    out.push(name, value)
  }
  out.push('host', upstreamHost)
  out.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`)
  out.push('x-forwarded-proto', 'http')
  if (clientHost) out.push('x-forwarded-host', clientHost)
  return out
}

/** Serialises a request head for the upstream (origin-form target, HTTP/1.1). */
export function requestHead(method, target, headers) {
  let s = `${method} ${target} HTTP/1.1\r\n`
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`
  return s + '\r\n'
}

const REASONS = { 200: 'OK', 204: 'No Content', 206: 'Partial Content', 301: 'Moved Permanently', 302: 'Found', 304: 'Not Modified', 400: 'Bad Request', 404: 'Not Found', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' }
const STATUS_LINES = new Map()
export function statusLine(status) {
  let s = STATUS_LINES.get(status)
  if (s === undefined) {
    s = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\n`
    STATUS_LINES.set(status, s)
  }
  return s
}

/** Serialises a response head for the client. Values were validated by the parser. */
export function responseHead(status, headers, close) {
  let s = statusLine(status)
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`
  return s + (close ? 'connection: close\r\n\r\n' : '\r\n')
}

export function errorResponse(status) {
  return `${statusLine(status)}content-length: 0\r\nconnection: close\r\n\r\n`
}

export function env(name, dflt) {
  const v = process.env[name]
  return v === undefined || v === '' ? dflt : v
}

/** Prints the bound port on stdout as `LISTENING <port>` for the runner. */
export function announce(server) {
  process.stdout.write(`LISTENING ${server.address().port}\n`)
  const stop = () => process.exit(0) // --cpu-prof is still written on process.exit
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

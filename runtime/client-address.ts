/**
 * Client addresses behind proxies: IPv4/IPv6 parsing, CIDR lists, and `trustProxy` — whose
 * X-Forwarded-For / -Proto / -Host to believe. Shared by the runtime (the global `trustProxy`:
 * ctx.clientIp, ctx.url, the forwarded headers sent upstream, ip-hash) and the middleware
 * (`ipFilter`, `rateLimit`, `httpsRedirect`, which re-export it from 'switchyard/middleware').
 */
import { isValidHost, withoutTrailingDot } from './canonical.js'

/** An address as 16 bytes (IPv4 as IPv4-mapped IPv6). */
export type IpBytes = Uint8Array

export interface Cidr {
  readonly bytes: IpBytes
  /** Prefix length in the 128-bit space (IPv4 /8 → 104). */
  readonly bits: number
  readonly source: string
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function parseV4(s: string, out: Uint8Array, at: number): boolean {
  const m = V4.exec(s)
  if (!m) return false
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!
    if (part.length > 1 && part[0] === '0') return false // no octal-looking octets
    const n = Number(part)
    if (n > 255) return false
    out[at + i] = n
  }
  return true
}

/** Parses an IPv4 or IPv6 address (zone id and brackets allowed) into 16 bytes, or undefined. */
export function parseIp(input: string): IpBytes | undefined {
  let s = input.trim()
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1)
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  const out = new Uint8Array(16)
  if (s.includes('.') && !s.includes(':')) {
    out[10] = 0xff
    out[11] = 0xff
    return parseV4(s, out, 12) ? out : undefined
  }
  if (!s.includes(':')) return undefined
  // IPv6: up to 8 groups, one '::', optionally an IPv4 tail.
  const dbl = s.indexOf('::')
  if (dbl >= 0 && s.indexOf('::', dbl + 1) >= 0) return undefined
  const head = dbl >= 0 ? s.slice(0, dbl) : s
  const tail = dbl >= 0 ? s.slice(dbl + 2) : ''
  const groups = (part: string): number[] | undefined => {
    if (part === '') return []
    const words: number[] = []
    const pieces = part.split(':')
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4)
        if (!parseV4(p, v4, 0)) return undefined
        words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(p)) return undefined
        words.push(parseInt(p, 16))
      }
    }
    return words
  }
  const h = groups(head)
  const t = groups(tail)
  if (!h || !t) return undefined
  if (dbl < 0 && h.length !== 8) return undefined
  if (dbl >= 0 && h.length + t.length > 7) return undefined
  const words = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t]
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8
    out[2 * i + 1] = words[i]! & 0xff
  }
  return out
}

/** True for an IPv4 address or an IPv4-mapped IPv6 one. */
export function isV4(bytes: IpBytes): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

/** Dotted or colon text for 16 address bytes (IPv4-mapped ones as plain IPv4). */
export function formatIp(bytes: IpBytes): string {
  if (isV4(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  const words: number[] = []
  for (let i = 0; i < 8; i++) words.push((bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
  // RFC 5952: the longest run (≥ 2) of zero groups becomes '::'.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen) [best, bestLen] = [i, j - i]
    i = j
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':')
  if (best < 0) return hex(words)
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`
}

const NAMED: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
}

/** Parses `10.0.0.0/8`, `fd00::/8`, a single address, or a name (`loopback`…) into CIDRs; throws on bad input. */
export function parseCidr(entry: string): Cidr[] {
  const named = NAMED[entry.trim().toLowerCase()]
  if (named) return named.flatMap(parseCidr)
  const slash = entry.indexOf('/')
  const addr = slash < 0 ? entry : entry.slice(0, slash)
  const bytes = parseIp(addr)
  if (!bytes) throw new TypeError(`not an IP address or CIDR: '${entry}'`)
  const v4 = isV4(bytes) && !addr.includes(':')
  const max = v4 ? 32 : 128
  let bits = max
  if (slash >= 0) {
    const p = entry.slice(slash + 1)
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new TypeError(`bad prefix length in '${entry}'`)
    bits = Number(p)
  }
  if (v4) bits += 96
  // Zero the host bits so `10.1.2.3/8` means 10.0.0.0/8.
  const masked = bytes.slice()
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i))
    masked[i] = masked[i]! & ((0xff << (8 - keep)) & 0xff)
  }
  return [{ bytes: masked, bits, source: entry }]
}

export function cidrContains(cidr: Cidr, addr: IpBytes): boolean {
  const full = cidr.bits >> 3
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== addr[i]) return false
  const rest = cidr.bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (addr[full]! & mask) === cidr.bytes[full]
}

/** A compiled address list: `matches(ip)`. */
export class IpList {
  readonly cidrs: Cidr[]
  constructor(entries: readonly string[]) {
    this.cidrs = entries.flatMap((e) => parseCidr(e))
  }

  matches(addr: string | IpBytes | undefined): boolean {
    const bytes = typeof addr === 'string' ? parseIp(addr) : addr
    if (!bytes) return false
    return this.cidrs.some((c) => cidrContains(c, bytes))
  }
}

/** Who to believe about X-Forwarded-For: addresses/CIDRs/names, or a number of hops. */
export type TrustProxy = readonly string[] | number

export type TrustFn = (addr: IpBytes, hop: number) => boolean

/** Compiles a `trustProxy` option (undefined → trust nobody). */
export function compileTrust(trust: TrustProxy | undefined): TrustFn {
  if (trust === undefined) return () => false
  if (typeof trust === 'number') {
    if (!Number.isInteger(trust) || trust < 0) throw new TypeError(`trustProxy: expected a list or a number of hops ≥ 0, got ${trust}`)
    return (_addr, hop) => hop < trust
  }
  const list = new IpList(trust)
  return (addr) => list.matches(addr)
}

/** An X-Forwarded-For element as an address: strips brackets and ports (`1.2.3.4:80`, `[::1]:80`). */
function forwardedAddr(element: string): IpBytes | undefined {
  let s = element.trim()
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end < 0) return undefined
    s = s.slice(1, end)
  } else if (/^[\d.]+:\d+$/.test(s)) {
    s = s.slice(0, s.indexOf(':'))
  }
  return parseIp(s)
}

/**
 * The client's address: the peer, or — when the peer is a trusted proxy — the first address in
 * `X-Forwarded-For` (walked from the right) that is not trusted. `xff` is the header's value.
 *
 * An element that is not an address (`unknown`, an obfuscated `_hidden`, junk, an empty one)
 * stops the walk and is the client, as written (trimmed; `unknown` when empty) — as proxy-addr
 * does. It is not an address, so it matches no allow list (ipFilter refuses it) and no
 * trusted-proxy list. Falling back to the last good address instead would name the trusted
 * proxy itself as the client: with `trustProxy: 'private'` and an allow list of private
 * ranges, a request would pass as coming from inside.
 */
export function resolveClientAddress(peer: string, xff: string | null, trust: TrustFn): string {
  let current = parseIp(peer)
  if (!current) return peer
  if (!xff) return formatIp(current)
  const hops = xff.split(',')
  let hop = 0
  while (trust(current, hop)) {
    const element = hops.pop()
    if (element === undefined) break
    const next = forwardedAddr(element)
    if (!next) return element.trim() || 'unknown'
    current = next
    hop++
  }
  return formatIp(current)
}

/** What trusted proxies said about a request (see `resolveForwarded`). */
export interface ForwardedClient {
  /** The client's address: the peer's, or the first untrusted hop of X-Forwarded-For (as written, if that hop is not an address). */
  clientIp: string
  /** The peer is a trusted proxy: its X-Forwarded-* headers were believed. */
  trusted: boolean
  /** X-Forwarded-Proto of a trusted peer (its last value), else 'http'. */
  proto: 'http' | 'https'
  /** X-Forwarded-Host of a trusted peer (its last value, if a valid host), else ''. */
  host: string
}

/**
 * The request's client, scheme and public host under `trust`. Only a trusted peer's headers are
 * read; when several proxies appended values, the last one (set by the nearest proxy) counts for
 * the scheme and host, and X-Forwarded-For is walked from the right past every trusted hop.
 */
export function resolveForwarded(peer: string, raw: readonly string[], trust: TrustFn): ForwardedClient {
  const bytes = parseIp(peer)
  if (bytes === undefined || !trust(bytes, 0)) return { clientIp: peer, trusted: false, proto: 'http', host: '' }
  let xff: string | undefined
  let xfp: string | undefined
  let xfh: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.length < 15 || name.length > 17) continue
    const lower = name.toLowerCase()
    const value = raw[i + 1]!
    if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`
    else if (lower === 'x-forwarded-proto') xfp = xfp === undefined ? value : `${xfp}, ${value}`
    else if (lower === 'x-forwarded-host') xfh = xfh === undefined ? value : `${xfh}, ${value}`
  }
  const proto = xfp === undefined ? 'http' : lastElement(xfp).toLowerCase() === 'https' ? 'https' : 'http'
  let host = xfh === undefined ? '' : lastElement(xfh)
  host = host !== '' && isValidHost(host) ? withoutTrailingDot(host) : ''
  return { clientIp: resolveClientAddress(peer, xff ?? null, trust), trusted: true, proto, host }
}

function lastElement(list: string): string {
  const comma = list.lastIndexOf(',')
  return (comma < 0 ? list : list.slice(comma + 1)).trim()
}

/**
 * Builds the header list sent upstream from the client's raw headers in one pass:
 * hop-by-hop and Connection-nominated fields dropped, Host per the group's mode,
 * X-Forwarded-For appended, X-Forwarded-Proto/-Host set, optional RFC 7239 Forwarded,
 * then the route's header rules. With `trustProxy`, a trusted peer's X-Forwarded-Proto/-Host
 * are passed on, and an untrusted peer's X-Forwarded-For / Forwarded chain is dropped (only
 * the peer is sent); without it the client's chain is always kept and appended to.
 * Content-Length is kept (the upstream client enforces it against the streamed body); everything
 * else about framing is the upstream client's (runtime/upstream-client/).
 */
import type { ResolvedHeaderRules, HostHeaderMode } from '../resolved-config.js'
import type { RequestContext } from '../context.js'
import { isHopByHop, connectionNominated } from './hop-by-hop.js'

export interface ForwardedInfo {
  /** The connected peer: appended to X-Forwarded-For, `for=` of the Forwarded element. */
  peerIp: string
  /** Keep the client's X-Forwarded-For / Forwarded and append to them (else replace them). */
  keepChain: boolean
  /** X-Forwarded-Proto: 'http', or what a trusted proxy said. */
  proto: 'http' | 'https'
  /** The client's Host header value as received ('' if none): the upstream Host in 'preserve' mode. */
  hostHeader: string
  /** X-Forwarded-Host and Forwarded's `host=`: a trusted proxy's X-Forwarded-Host, else the Host header. */
  host: string
  xForwarded: boolean
  forwarded: boolean
}

/** The forwarding facts of a request under its Generation's `forwardedHeaders` settings. */
export function forwardedInfo(ctx: RequestContext): ForwardedInfo {
  const fwd = ctx.generation.config.forwardedHeaders
  return {
    peerIp: ctx.peerIp, keepChain: ctx.forwardedChain, proto: ctx.proto, hostHeader: ctx.hostHeader,
    host: ctx.forwardedHost || ctx.hostHeader, xForwarded: fwd.xForwarded, forwarded: fwd.forwarded,
  }
}

export function buildUpstreamHeaders(
  raw: readonly string[], info: ForwardedInfo, hostMode: HostHeaderMode, upstreamHost: string,
  rules: ResolvedHeaderRules | undefined,
): string[] {
  let nominated: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      nominated = connectionNominated(headerValues(raw, 'connection'))
      break
    }
  }
  const out: string[] = []
  let xff: string | undefined
  let forwardedPrior: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const lower = name.toLowerCase()
    const value = raw[i + 1]!
    if (lower === 'host' || isHopByHop(lower) || nominated?.has(lower)) continue
    if (lower.includes('_') && isLookalike(lower)) continue
    if (rules && rules.remove.includes(lower)) continue
    if (info.xForwarded) {
      if (lower === 'x-forwarded-for') {
        if (info.keepChain) xff = xff === undefined ? value : `${xff}, ${value}`
        continue
      }
      if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue
    }
    if (info.forwarded && lower === 'forwarded') {
      if (info.keepChain) forwardedPrior = forwardedPrior === undefined ? value : `${forwardedPrior}, ${value}`
      continue
    }
    out.push(name, value)
  }
  const host = hostMode.kind === 'preserve' ? info.hostHeader || upstreamHost : hostMode.kind === 'upstream' ? upstreamHost : hostMode.value
  out.push('host', host)
  if (info.xForwarded) {
    out.push('x-forwarded-for', xff === undefined ? info.peerIp : `${xff}, ${info.peerIp}`)
    out.push('x-forwarded-proto', info.proto)
    if (info.host) out.push('x-forwarded-host', info.host)
  }
  if (info.forwarded) {
    const element = forwardedElement(info)
    out.push('forwarded', forwardedPrior === undefined ? element : `${forwardedPrior}, ${element}`)
  }
  if (rules) for (const [n, v] of rules.append) out.push(n, v)
  return out
}

/** Fields the proxy sets or frames by, beyond the hop-by-hop ones. */
const MANAGED = new Set(['host', 'content-length', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'])

/**
 * `X_Forwarded_For`, `Content_Length`…: CGI-style backends (WSGI, Rack, PHP) read `_` and `-` in a
 * name alike (HTTP_X_FORWARDED_FOR), so a client could set what the proxy manages under another
 * spelling. Dropped, as nginx drops every name with `_` by default; other names with `_` pass.
 */
function isLookalike(lower: string): boolean {
  const dashed = lower.replaceAll('_', '-')
  return MANAGED.has(dashed) || isHopByHop(dashed)
}

/** Every value of the field `lowerName` in a flat [name, value, …] list, in order. */
export function headerValues(raw: readonly string[], lowerName: string): string[] {
  const values: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lowerName) values.push(raw[i + 1]!)
  return values
}

/**
 * RFC 7239 element: the peer, and the host and scheme the client asked for (as the X-Forwarded-*
 * headers say them); IPv6 addresses and anything not a token are quoted.
 */
function forwardedElement(info: ForwardedInfo): string {
  const forNode = info.peerIp.includes(':') ? `"[${info.peerIp}]"` : info.peerIp
  const parts = [`for=${forNode}`]
  if (info.host) parts.push(`host=${/^[A-Za-z0-9.\-]+$/.test(info.host) ? info.host : JSON.stringify(info.host)}`)
  parts.push(`proto=${info.proto}`)
  return parts.join(';')
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) and friends that a proxy must not forward: the
 * proxy regenerates framing and connection management itself. `expect` is answered by
 * the proxy (100-continue); `proxy-*` fields are addressed to this proxy (and `Proxy` is
 * the httpoxy vector).
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'proxy',
  // Only meaningful with `Upgrade: h2c`, which is never forwarded (h2c smuggling).
  'http2-settings',
])

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-')
}

/**
 * Fields the proxy itself regenerates or relies on. Nominating them in `Connection` must not
 * strip them (the "hop-by-hop abuse" of X-Forwarded-For, Host or framing): the listener
 * rejects such a request with 400 as Envoy does, and `connectionNominated` never lists them.
 */
const PROTECTED = new Set([
  'host', 'content-length', 'transfer-encoding', 'connection',
  'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'forwarded',
])

/** Field names listed in Connection header values (lowercase), or undefined when none. */
export function connectionNominated(values: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined
  for (const value of values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase()
      if (name === '' || name === 'close' || name === 'keep-alive' || PROTECTED.has(name)) continue
      ;(out ??= new Set()).add(name)
    }
  }
  return out
}

/** The first proxy-owned field a Connection header value nominates, if any. */
export function nominatesProtected(value: string): string | undefined {
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase()
    if (PROTECTED.has(name) && name !== 'connection' && name !== 'transfer-encoding') return name
  }
  return undefined
}

/** Whether a Connection header value (null: none) carries the `close` option. */
export function asksToClose(connection: string | null): boolean {
  return connection !== null && connection.split(',').some((token) => token.trim().toLowerCase() === 'close')
}

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) and friends that a proxy must not forward: the
 * proxy regenerates framing and connection management itself. `expect` is answered by
 * the proxy (100-continue); `proxy-*` fields are addressed to this proxy (and `Proxy` is
 * the httpoxy vector).
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
  'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'proxy',
])

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-')
}

/** Field names listed in Connection header values (lowercase), or undefined when none. */
export function connectionNominated(values: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined
  for (const value of values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase()
      if (name === '' || name === 'close' || name === 'keep-alive') continue
      ;(out ??= new Set()).add(name)
    }
  }
  return out
}

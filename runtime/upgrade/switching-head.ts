/** The `101 Switching Protocols` head a tunnel sends the client, from the upstream's. */
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { isHopByHop, connectionNominated } from '../forward/hop-by-hop.js'
import { applyHeaderRules, assertWritableFields } from '../forward/response-headers.js'
import { headerValues } from '../forward/upstream-headers.js'

/**
 * The 101 head for the client: the upstream's fields without hop-by-hop ones (its `Upgrade`
 * kept, `Connection` rewritten to `Upgrade`), then the route's response rules and the sticky
 * cookie. Throws on a field node:http would refuse to send.
 */
export function switchingHead(raw: readonly string[], rules: ResolvedHeaderRules | undefined, cookie: string | undefined): string {
  const nominated = connectionNominated(headerValues(raw, 'connection'))
  let list: string[] = []
  let connectionSeen = false
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    if (lower === 'connection') {
      if (!connectionSeen) list.push(raw[i]!, 'Upgrade') // in the upstream's place, once
      connectionSeen = true
      continue
    }
    if (lower !== 'upgrade' && (isHopByHop(lower) || lower === 'content-length' || nominated?.has(lower))) continue
    list.push(raw[i]!, raw[i + 1]!)
  }
  if (rules !== undefined) list = applyHeaderRules(list, rules)
  if (cookie !== undefined) list.push('set-cookie', cookie)
  assertWritableFields(list)
  let head = 'HTTP/1.1 101 Switching Protocols\r\n'
  for (let i = 0; i < list.length; i += 2) head += `${list[i]}: ${list[i + 1]}\r\n`
  return `${head}\r\n`
}

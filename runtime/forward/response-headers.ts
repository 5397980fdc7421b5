/**
 * Converts undici's raw response headers (Buffers) into the flat [name, value, …] list
 * that `ServerResponse.writeHead` takes, dropping hop-by-hop and Connection-nominated
 * fields and applying the route's response rules. Repeated fields (Set-Cookie) stay
 * separate entries.
 */
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { isHopByHop, connectionNominated } from './hop-by-hop.js'

export function buildClientHeaders(raw: readonly Buffer[], rules: ResolvedHeaderRules | undefined): string[] {
  const out: string[] = []
  let connectionValues: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      ;(connectionValues ??= []).push(raw[i + 1]!.toString('latin1'))
      continue
    }
    if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    if (rules && rules.remove.includes(lower)) continue
    out.push(name, raw[i + 1]!.toString('latin1'))
  }
  if (connectionValues) {
    const nominated = connectionNominated(connectionValues)
    if (nominated) return removeNames(out, nominated, rules)
  }
  if (rules) for (const [n, v] of rules.append) out.push(n, v)
  return out
}

function removeNames(list: string[], names: Set<string>, rules: ResolvedHeaderRules | undefined): string[] {
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) if (!names.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!)
  if (rules) for (const [n, v] of rules.append) out.push(n, v)
  return out
}

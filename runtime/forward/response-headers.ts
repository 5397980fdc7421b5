/**
 * Response header handling: undici's raw Buffers → the flat [name, value, …] list that
 * `ServerResponse.writeHead` takes, without hop-by-hop and Connection-nominated fields;
 * and a route's response rules applied to such a list. Repeated fields (Set-Cookie) stay
 * separate entries.
 */
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { isHopByHop, connectionNominated } from './hop-by-hop.js'
import { codedError } from './upstream-error.js'

/**
 * Throws (code SWITCHYARD_BAD_UPSTREAM_RESPONSE) on a Transfer-Encoding other than plain
 * `chunked`: the body would reach the client still gzip/compress-coded with nothing saying
 * so (nginx: "upstream sent unknown Transfer-Encoding" → 502).
 */
export function stripHopByHop(raw: readonly Buffer[]): string[] {
  const out: string[] = []
  let connectionValues: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1')
    const lower = name.toLowerCase()
    if (lower === 'connection') {
      ;(connectionValues ??= []).push(raw[i + 1]!.toString('latin1'))
      continue
    }
    if (lower === 'transfer-encoding') {
      const coding = raw[i + 1]!.toString('latin1')
      if (coding.trim().toLowerCase() !== 'chunked') {
        throw codedError('SWITCHYARD_BAD_UPSTREAM_RESPONSE', `invalid upstream response (unsupported Transfer-Encoding: ${coding})`)
      }
      continue
    }
    // Proxy-Authenticate is end-to-end in responses (the upstream asks the client); keep it.
    if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    out.push(name, raw[i + 1]!.toString('latin1'))
  }
  if (!connectionValues) return out
  const nominated = connectionNominated(connectionValues)
  return nominated ? removeNames(out, nominated) : out
}

export function applyHeaderRules(list: string[], rules: ResolvedHeaderRules): string[] {
  const out = rules.remove.length === 0 ? list : removeNames(list, new Set(rules.remove))
  for (const [n, v] of rules.append) out.push(n, v)
  return out
}

function removeNames(list: string[], names: ReadonlySet<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) if (!names.has(list[i]!.toLowerCase())) out.push(list[i]!, list[i + 1]!)
  return out
}

/**
 * Response header handling: the upstream client's flat [name, value, …] list (latin1 strings)
 * → the list `ServerResponse.writeHead` takes, without hop-by-hop and Connection-nominated
 * fields; and a route's response rules applied to such a list. Repeated fields (Set-Cookie)
 * stay separate entries.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http'
import type { ResolvedHeaderRules } from '../resolved-config.js'
import { isHopByHop, connectionNominated } from './hop-by-hop.js'
import { codedError } from './upstream-error.js'

/** Throws, as ServerResponse.writeHead would, on the first field of `list` node:http refuses to send. */
export function assertWritableFields(list: readonly string[]): void {
  for (let i = 0; i < list.length; i += 2) {
    validateHeaderName(list[i]!)
    validateHeaderValue(list[i]!, list[i + 1]!)
  }
}

/**
 * Filters `list` (the head of a `status` response) in place and returns it. Throws (code
 * SWITCHYARD_BAD_UPSTREAM_RESPONSE) on a Transfer-Encoding other than plain `chunked`, or on
 * more than one Transfer-Encoding field: the body would reach the client still gzip/compress-coded
 * with nothing saying so (nginx: "upstream sent unknown Transfer-Encoding" → 502), or chunked
 * twice (RFC 9112 §7). A 1xx's or 204's Content-Length is dropped (RFC 9110 §8.6: never sent with
 * one; on a 1xx, some clients would read a body).
 */
export function stripHopByHop(list: string[], status: number): string[] {
  let connectionValues: string[] | undefined
  let codings = 0
  let kept = 0
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i]!
    const value = list[i + 1]!
    // Only names of these lengths, or starting with "p", can be hop-by-hop: skip lowercasing the rest.
    const n = name.length
    if (n === 2 || n === 6 || n === 7 || n === 10 || n === 14 || n === 17 || (n >= 5 && (name.charCodeAt(0) | 32) === 112)) {
      const lower = name.toLowerCase()
      if (lower === 'connection') {
        // The usual values nominate nothing: skip parsing them.
        if (value !== 'keep-alive' && value !== 'close' && value !== 'Keep-Alive' && value !== 'Close') (connectionValues ??= []).push(value)
        continue
      }
      if (lower === 'transfer-encoding') {
        if (value.trim().toLowerCase() !== 'chunked') {
          throw codedError('SWITCHYARD_BAD_UPSTREAM_RESPONSE', `invalid upstream response (unsupported Transfer-Encoding: ${value})`)
        }
        if (++codings > 1) throw codedError('SWITCHYARD_BAD_UPSTREAM_RESPONSE', 'invalid upstream response (Transfer-Encoding repeated)')
        continue
      }
      if ((status === 204 || status < 200) && lower === 'content-length') continue
      // Proxy-Authenticate is end-to-end in responses (the upstream asks the client); keep it.
      if (isHopByHop(lower) && lower !== 'proxy-authenticate') continue
    }
    list[kept++] = name
    list[kept++] = value
  }
  list.length = kept
  if (!connectionValues) return list
  const nominated = connectionNominated(connectionValues)
  return nominated ? removeNames(list, nominated) : list
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

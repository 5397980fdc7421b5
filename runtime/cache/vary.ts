// Secondary cache keys (RFC 9111 §4.1). A stored response's `variantKey` records the request
// fields its Vary nominates, normalised so that two requests match when they differ only by
// whitespace, header-name case or how the field was split across lines. A field absent from a
// request matches only its absence (recorded as null, distinct from an empty value).
import { headerLines, headerValue, splitList, type HeaderSource } from './headers.js'
import { memoize } from './memo.js'

/** The lowercase, deduplicated, sorted field names nominated by Vary; `'*'` for Vary: *. */
export function varyFields(responseHeaders: HeaderSource): readonly string[] | '*' {
  const value = headerValue(responseHeaders, 'vary')
  return value === undefined ? NO_FIELDS : varyMemo(value)
}

const NO_FIELDS: readonly string[] = Object.freeze([])
const varyMemo = memoize(512, (value: string): readonly string[] | '*' => {
  const names = new Set<string>()
  for (const member of splitList(value)) {
    if (member === '*') return '*'
    names.add(member.toLowerCase())
  }
  return Object.freeze([...names].sort())
})

/**
 * Normalises a request field for comparison: lines combined, list members trimmed, and optional
 * whitespace around `,` `;` `=` removed outside quoted strings. Case and order are kept except
 * for the Accept-* fields, where they carry no meaning; elsewhere a false "different" merely
 * costs a miss.
 */
export function normalizeFieldValue(lines: readonly string[], name = ''): string | null {
  if (lines.length === 0) return null
  return normalizeMemo(`${UNORDERED.has(name.toLowerCase()) ? 'u' : 'o'}${lines.join(',')}`)
}

const normalizeMemo = memoize(1024, (k: string): string => normalize(k.slice(1), k[0] === 'u'))

function normalize(joined: string, unordered: boolean): string {
  const members = splitList(joined).map(normalizeMember)
  if (!unordered) return members.join(',')
  // Preference in these fields comes from q-values, not member order, and their tokens are
  // case-insensitive (RFC 9110 §12.5): sorting and lowercasing keeps their meaning.
  return members.map((m) => m.toLowerCase()).sort().join(',')
}

/** Request fields whose member order and case carry no meaning (RFC 9110 §12.5.1–§12.5.4). */
const UNORDERED = new Set(['accept', 'accept-charset', 'accept-encoding', 'accept-language'])

/** Collapses whitespace outside quoted strings; drops it around `;` and `=`. */
function normalizeMember(member: string): string {
  let out = ''
  let quoted = false
  for (let i = 0; i < member.length; i++) {
    const c = member[i]!
    if (quoted) {
      out += c
      if (c === '\\' && i + 1 < member.length) out += member[++i]
      else if (c === '"') quoted = false
    } else if (c === ' ' || c === '\t') {
      const next = member[i + 1]
      const prev = out[out.length - 1]
      if (next !== ' ' && next !== '\t' && next !== ';' && next !== '=' && prev !== ';' && prev !== '=') out += ' '
    } else {
      if (c === '"') quoted = true
      out += c
    }
  }
  return out
}

/**
 * The secondary key for storing `responseHeaders` as the answer to a request with
 * `requestHeaders`: '' without Vary, undefined for Vary: * (never reusable, so never stored).
 */
export function variantKey(responseHeaders: HeaderSource, requestHeaders: HeaderSource): string | undefined {
  const fields = varyFields(responseHeaders)
  return fields === '*' ? undefined : variantKeyOf(fields, requestHeaders)
}

/** The secondary key for Vary-nominated `fields` (from `varyFields`, not '*'). */
export function variantKeyOf(fields: readonly string[], requestHeaders: HeaderSource): string {
  if (fields.length === 0) return ''
  return JSON.stringify(fields.map((f) => [f, normalizeFieldValue(headerLines(requestHeaders, f), f)]))
}

/** Whether a stored response (its headers and recorded variantKey) may answer this request. */
export function varyMatches(
  stored: { readonly headers: HeaderSource; readonly variantKey: string },
  requestHeaders: HeaderSource,
): boolean {
  const key = variantKey(stored.headers, requestHeaders)
  return key !== undefined && key === stored.variantKey
}

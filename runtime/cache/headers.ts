// Header access shared by the cache policy. Two shapes come in: Node's `IncomingHttpHeaders`-like
// maps (names lowercase, repeated fields as arrays) and ordered field lists as stored in the cache
// (`[name, value]` pairs, any case, duplicates kept). Every policy function accepts either.

/** Node-style header map: names lowercase, as Node delivers them (`IncomingMessage.headers`). */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | number | undefined>>
/** Ordered header lines, as stored: one pair per field line. */
export type FieldList = readonly (readonly [string, string])[]
export type HeaderSource = HeaderMap | FieldList

function isFieldList(h: HeaderSource): h is FieldList {
  return Array.isArray(h)
}

function pushValue(out: string[], v: string | readonly string[] | number | undefined): void {
  if (v === undefined) return
  if (typeof v === 'string') out.push(v)
  else if (typeof v === 'number') out.push(String(v))
  else out.push(...v)
}

/** All field lines of `name` (case-insensitive), in order; empty when absent. */
export function headerLines(h: HeaderSource, name: string): string[] {
  const lower = name.toLowerCase()
  const out: string[] = []
  if (isFieldList(h)) {
    // Length first: most names differ in length, which avoids a toLowerCase allocation.
    for (const [n, v] of h) if (n.length === lower.length && (n === lower || n.toLowerCase() === lower)) out.push(v)
    return out
  }
  // No case-insensitive scan: a miss here is the common case (most requests carry neither
  // Cache-Control nor conditionals) and must cost one property lookup, not a pass over the map.
  pushValue(out, h[lower])
  return out
}

/** Lines combined with ", " (RFC 9110 §5.3), or undefined when the field is absent. */
export function headerValue(h: HeaderSource, name: string): string | undefined {
  const lines = headerLines(h, name)
  return lines.length === 0 ? undefined : lines.join(', ')
}

/** The first field line only: for singleton fields (Date, Expires, Age, ETag, Last-Modified). */
export function firstHeader(h: HeaderSource, name: string): string | undefined {
  return headerLines(h, name)[0]
}

export function hasHeader(h: HeaderSource, name: string): boolean {
  return headerLines(h, name).length > 0
}

/** Converts either shape to an ordered field list (names kept as given, lowercase for maps). */
export function toFieldList(h: HeaderSource): [string, string][] {
  if (isFieldList(h)) return h.map(([n, v]) => [n, v])
  const out: [string, string][] = []
  for (const n of Object.keys(h)) {
    const values: string[] = []
    pushValue(values, h[n])
    for (const v of values) out.push([n, v])
  }
  return out
}

/** Flat [name, value, …] (as writeHead takes them) → pairs, for the policy functions. */
export function toPairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!])
  return out
}

/** Flat [name, value, …] lines without the fields named in `lowerNames`. */
export function withoutFields(flat: readonly string[], lowerNames: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < flat.length; i += 2) if (!lowerNames.includes(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!)
  return out
}

/**
 * Splits a list-valued field (RFC 9110 §5.6.1) on commas outside quoted strings, trimming OWS
 * and dropping empty members.
 */
export function splitList(value: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (quoted) {
      if (c === '\\') i++
      else if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if (c === ',') {
      out.push(value.slice(start, i))
      start = i + 1
    }
  }
  out.push(value.slice(start))
  return out.map((s) => s.trim()).filter((s) => s.length > 0)
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** RFC 9110 §5.6.2 token. */
export function isToken(s: string): boolean {
  return TOKEN.test(s)
}

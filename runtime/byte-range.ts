/**
 * Single byte ranges (RFC 9110 §14): what serveStatic and the cache answer a `Range` with. One
 * satisfiable range → 206; none satisfiable → 416; several ranges, or a malformed header, are
 * ignored (the whole representation, 200), which §14.2 allows.
 */

export type ByteRange = { start: number; end: number }

/**
 * A Range header against a representation of `size` bytes: one satisfiable range, 'unsatisfiable',
 * or undefined to ignore it (absent, malformed, not bytes, or several ranges).
 */
export function parseRange(header: string | null | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header)
  if (!m) return undefined
  const specs = m[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (specs.length !== 1) return undefined
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]!)
  if (!r || (r[1] === '' && r[2] === '')) return undefined
  if (r[1] === '') {
    const suffix = Number(r[2])
    if (suffix === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(r[1])
  if (r[2] !== '' && Number(r[2]) < start) return undefined // invalid: ignored
  if (start >= size) return 'unsatisfiable'
  const end = r[2] === '' ? size - 1 : Number(r[2])
  return { start, end: Math.min(end, size - 1) }
}

/**
 * `If-Range` (RFC 9110 §13.1.5): the range applies only if the representation is the one the
 * client names — by a strong entity-tag (compared strongly), or by its exact Last-Modified date.
 * No If-Range: it applies.
 */
export function ifRangeAllows(value: string | null | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (value === null || value === undefined) return true
  const v = value.trim()
  if (v.startsWith('"')) return etag !== undefined && !etag.startsWith('W/') && v === etag.trim()
  if (v.startsWith('W/')) return false
  return lastModified !== undefined && v === lastModified.trim()
}

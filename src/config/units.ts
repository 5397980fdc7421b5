/** Parsing of the config's duration and size values (numbers or strings with a unit). */

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const SIZE_BYTES: Record<string, number> = {
  b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3,
}
const UNIT_VALUE = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i

/** Milliseconds, or an error message. */
export function parseDuration(value: unknown): number | string {
  return parseUnit(value, DURATION_MS, 'ms', "a duration: milliseconds or a string like '250ms', '5s', '1m'")
}

/** Bytes, or an error message. */
export function parseSize(value: unknown): number | string {
  return parseUnit(value, SIZE_BYTES, 'b', "a size: bytes or a string like '64kb', '10mb'")
}

function parseUnit(value: unknown, units: Record<string, number>, bare: string, expected: string): number | string {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value >= 0 ? Math.round(value) : `expected ${expected}, got ${value}`
  }
  if (typeof value !== 'string') return `expected ${expected}, got ${describe(value)}`
  const m = UNIT_VALUE.exec(value)
  const factor = m ? units[(m[2] || bare).toLowerCase()] : undefined
  if (!m || factor === undefined) return `expected ${expected}, got '${value}'`
  return Math.round(Number(m[1]) * factor)
}

export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof RegExp) return `RegExp ${value}`
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

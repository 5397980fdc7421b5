/** Small helpers for checking untyped config values with messages that name the key path. */
import { describe, parseDuration } from './units.js'

export class Problems {
  readonly list: Array<{ path: string; message: string; needle?: string }> = []

  add(path: string, message: string, needle?: string): void {
    this.list.push({ path, message, needle })
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RegExp)
}

/** Flags keys that are not in `known`, suggesting the closest one (typos in plain-JS configs). */
export function checkKeys(obj: Record<string, unknown>, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue
    const guess = closest(key, known)
    problems.add(`${path}.${key}`, `unknown option${guess ? ` (did you mean '${guess}'?)` : ''}; known: ${known.join(', ')}`, key)
  }
}

export function expectString(value: unknown, path: string, problems: Problems): value is string {
  if (typeof value === 'string' && value.length > 0) return true
  problems.add(path, `expected a non-empty string, got ${describe(value)}`)
  return false
}

export function expectInteger(value: unknown, path: string, problems: Problems, min: number, max: number): value is number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return true
  problems.add(path, `expected an integer from ${min} to ${max}, got ${describe(value)}`)
  return false
}

export function expectBoolean(value: unknown, path: string, problems: Problems): value is boolean {
  if (typeof value === 'boolean') return true
  problems.add(path, `expected true or false, got ${describe(value)}`)
  return false
}

/** A single value or an array of them, as an array. */
export function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value]
}

function closest(word: string, options: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = 3
  for (const option of options) {
    const d = editDistance(word.toLowerCase(), option.toLowerCase())
    if (d < bestDistance) {
      bestDistance = d
      best = option
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}

/** A duration option in ms: `fallback` when absent; a problem (and the fallback) when malformed. */
export function duration(value: unknown, fallback: number, path: string, p: Problems): number {
  if (value === undefined) return fallback
  const ms = parseDuration(value)
  if (typeof ms === 'string') {
    p.add(path, ms)
    return fallback
  }
  return ms
}

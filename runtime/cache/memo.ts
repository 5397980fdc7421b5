// A tiny bounded memo for parsing header values on the hot path: Cache-Control values, dates and
// Vary-selected request fields repeat across requests, so parsing each distinct short string once
// saves most of the policy's cost. Bounded (cleared when full) and limited to short keys, so
// attacker-chosen values cannot grow memory.

const MAX_KEY_LENGTH = 256

export function memoize<V>(limit: number, compute: (key: string) => V): (key: string) => V {
  const cache = new Map<string, V>()
  return (key) => {
    if (key.length > MAX_KEY_LENGTH) return compute(key)
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const value = compute(key)
    if (cache.size >= limit) cache.clear()
    cache.set(key, value)
    return value
  }
}

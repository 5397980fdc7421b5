// In-process CacheStore: an LRU bounded by bytes. One Map in recency order (Map keeps insertion
// order; a touch is delete + set, O(1)); evicts from the front until a new entry fits. Indexes by
// primary key (for variants) and by tag keep get/put/purgeTag proportional to what they touch;
// purgePrefix scans the keys.
import { keyPath } from './cache-key.js'
import { metaBytes, readBounded, type BodySource, type CacheStore, type NewEntry, type StoredEntry, type StoredMeta } from './store.js'

/** Fixed per-entry cost (objects, Map slots, index sets) counted on top of body and headers. */
export const ENTRY_OVERHEAD_BYTES = 512

export interface MemoryStoreOptions {
  /** Total bytes (bodies + metadata + overhead), default 64 MiB. */
  maxSize?: number
  /** Largest body accepted, default 8 MiB. */
  maxObjectSize?: number
  /** Clock for expiry, default Date.now (injectable for tests). */
  now?: () => number
}

interface Slot {
  meta: StoredMeta
  body: Buffer
}

const SEP = '\u0000'

export class MemoryStore implements CacheStore {
  readonly maxSize: number
  readonly maxObjectSize: number
  private readonly now: () => number
  private readonly slots = new Map<string, Slot>() // id → slot, least recently used first
  private readonly byKey = new Map<string, Set<string>>()
  private readonly byTag = new Map<string, Set<string>>()
  private bytes = 0

  constructor(options: MemoryStoreOptions = {}) {
    this.maxSize = options.maxSize ?? 64 * 1024 * 1024
    this.maxObjectSize = options.maxObjectSize ?? 8 * 1024 * 1024
    this.now = options.now ?? Date.now
  }

  /** Bytes currently accounted. */
  get size(): number {
    return this.bytes
  }

  async get(key: string): Promise<StoredEntry[] | undefined> {
    const ids = this.byKey.get(key)
    if (!ids) return undefined
    const now = this.now()
    const out: StoredEntry[] = []
    for (const id of [...ids]) {
      const slot = this.slots.get(id)!
      if (slot.meta.expiresAt <= now) {
        this.remove(id)
        continue
      }
      this.slots.delete(id) // touch: move to the most recently used end
      this.slots.set(id, slot)
      out.push(this.view(id, slot))
    }
    return out.length > 0 ? out : undefined
  }

  async put(entry: NewEntry, body: BodySource): Promise<boolean> {
    const buf = await readBounded(body, this.maxObjectSize)
    if (!buf) return false
    const size = buf.byteLength + metaBytes(entry) + ENTRY_OVERHEAD_BYTES
    if (size > this.maxSize || entry.expiresAt <= this.now()) return false
    const id = entry.key + SEP + entry.variantKey
    this.remove(id)
    return this.insert(id, { meta: copyMeta(entry, size), body: buf })
  }

  async updateMeta(entry: NewEntry): Promise<boolean> {
    const id = entry.key + SEP + entry.variantKey
    const slot = this.slots.get(id)
    if (!slot) return false
    this.remove(id)
    if (entry.expiresAt <= this.now()) return false
    const size = slot.body.byteLength + metaBytes(entry) + ENTRY_OVERHEAD_BYTES
    return this.insert(id, { meta: copyMeta(entry, size), body: slot.body })
  }

  async delete(key: string, variantKey?: string): Promise<void> {
    if (variantKey !== undefined) this.remove(key + SEP + variantKey)
    else for (const id of [...(this.byKey.get(key) ?? [])]) this.remove(id)
  }

  async purgeTag(tag: string): Promise<number> {
    const ids = [...(this.byTag.get(tag) ?? [])]
    for (const id of ids) this.remove(id)
    return ids.length
  }

  async purgePrefix(prefix: string): Promise<number> {
    return this.purgeKeys((key) => key.startsWith(prefix))
  }

  async purgePathPrefix(path: string): Promise<number> {
    return this.purgeKeys((key) => keyPath(key)?.startsWith(path) === true)
  }

  private purgeKeys(match: (key: string) => boolean): number {
    let n = 0
    for (const key of [...this.byKey.keys()]) {
      if (!match(key)) continue
      for (const id of [...this.byKey.get(key)!]) {
        this.remove(id)
        n++
      }
    }
    return n
  }

  isHealthy(): boolean {
    return true
  }

  async close(): Promise<void> {
    this.slots.clear()
    this.byKey.clear()
    this.byTag.clear()
    this.bytes = 0
  }

  private insert(id: string, slot: Slot): boolean {
    if (slot.meta.size > this.maxSize) return false
    // Evict least recently used entries until the new one fits.
    for (const [oldId] of this.slots) {
      if (this.bytes + slot.meta.size <= this.maxSize) break
      this.remove(oldId)
    }
    this.slots.set(id, slot)
    this.bytes += slot.meta.size
    addTo(this.byKey, slot.meta.key, id)
    for (const t of slot.meta.tags) addTo(this.byTag, t, id)
    return true
  }

  private remove(id: string): void {
    const slot = this.slots.get(id)
    if (!slot) return
    this.slots.delete(id)
    this.bytes -= slot.meta.size
    removeFrom(this.byKey, slot.meta.key, id)
    for (const t of slot.meta.tags) removeFrom(this.byTag, t, id)
  }

  private view(id: string, slot: Slot): StoredEntry {
    // Shallow copy: the header and tag arrays are frozen at insert, so sharing them is safe.
    return {
      ...slot.meta,
      body: async () => {
        // Replaced or removed since `get`: only serve the bytes this meta describes. A 304
        // refresh (updateMeta) keeps the same body, so it does not invalidate this view.
        if (this.slots.get(id)?.body !== slot.body) return undefined
        const bytes = slot.body
        return (async function* () {
          yield bytes
        })()
      },
    }
  }
}

/** A private, deeply frozen copy: readers share it without being able to corrupt the store. */
function copyMeta(e: NewEntry, size: number): StoredMeta {
  return {
    key: e.key,
    variantKey: e.variantKey,
    status: e.status,
    headers: Object.freeze(e.headers.map(([n, v]) => Object.freeze([n, v]))) as [string, string][],
    requestTime: e.requestTime,
    responseTime: e.responseTime,
    expiresAt: e.expiresAt,
    tags: Object.freeze([...new Set(e.tags)]) as string[],
    size,
  }
}

function addTo(index: Map<string, Set<string>>, k: string, id: string): void {
  let set = index.get(k)
  if (!set) index.set(k, (set = new Set()))
  set.add(id)
}

function removeFrom(index: Map<string, Set<string>>, k: string, id: string): void {
  const set = index.get(k)
  if (!set) return
  set.delete(id)
  if (set.size === 0) index.delete(k)
}

// In-process CacheStore: an LRU bounded by bytes. One Map in recency order (Map keeps insertion
// order; a touch is delete + set, O(1)); evicts from the front until a new entry fits. Indexes by
// primary key (for variants) and by tag keep get/put/purgeTag proportional to what they touch;
// purgePrefix scans the keys.
import { keyPath } from './cache-key.js'
import { metaBytes, readBody, type BodySource, type CacheStore, type NewEntry, type StoredEntry } from './store.js'

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

const SEP = '\u0000'

export class MemoryStore implements CacheStore {
  readonly maxSize: number
  readonly maxObjectSize: number
  private readonly now: () => number
  private readonly slots = new Map<string, MemoryEntry>() // id → entry, least recently used first
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
    const found = this.getNow(key)
    return found && [...found]
  }

  getNow(key: string): readonly StoredEntry[] | undefined {
    const ids = this.byKey.get(key)
    if (!ids) return undefined
    const now = this.now()
    if (ids.size === 1) {
      for (const id of ids) {
        const slot = this.live(id, now)
        return slot && slot.alone()
      }
    }
    const out: StoredEntry[] = []
    for (const id of [...ids]) {
      const slot = this.live(id, now)
      if (slot) out.push(slot)
    }
    return out.length > 0 ? out : undefined
  }

  /** The entry if it has not expired (then touched: moved to the most recently used end). */
  private live(id: string, now: number): MemoryEntry | undefined {
    const slot = this.slots.get(id)!
    if (slot.expiresAt <= now) {
      this.remove(id)
      return undefined
    }
    this.slots.delete(id)
    this.slots.set(id, slot)
    return slot
  }

  async put(entry: NewEntry, body: BodySource): Promise<boolean> {
    const buf = await readBody(body, this.maxObjectSize, true) // kept: a compact copy
    if (!buf) return false
    const size = buf.byteLength + metaBytes(entry) + ENTRY_OVERHEAD_BYTES
    if (size > this.maxSize || entry.expiresAt <= this.now()) return false
    const id = entry.key + SEP + entry.variantKey
    this.remove(id)
    return this.insert(id, new MemoryEntry(entry, size, this.slots, id, buf))
  }

  async updateMeta(entry: NewEntry): Promise<boolean> {
    const id = entry.key + SEP + entry.variantKey
    const slot = this.slots.get(id)
    if (!slot) return false
    this.remove(id)
    if (entry.expiresAt <= this.now()) return false
    const body = MemoryEntry.bytes(slot)
    const size = body.byteLength + metaBytes(entry) + ENTRY_OVERHEAD_BYTES
    return this.insert(id, new MemoryEntry(entry, size, this.slots, id, body))
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

  private insert(id: string, slot: MemoryEntry): boolean {
    if (slot.size > this.maxSize) return false
    // Evict least recently used entries until the new one fits.
    for (const [oldId] of this.slots) {
      if (this.bytes + slot.size <= this.maxSize) break
      this.remove(oldId)
    }
    this.slots.set(id, slot)
    this.bytes += slot.size
    addTo(this.byKey, slot.key, id)
    for (const t of slot.tags) addTo(this.byTag, t, id)
    return true
  }

  private remove(id: string): void {
    const slot = this.slots.get(id)
    if (!slot) return
    this.slots.delete(id)
    this.bytes -= slot.size
    removeFrom(this.byKey, slot.key, id)
    for (const t of slot.tags) removeFrom(this.byTag, t, id)
  }
}

/**
 * One stored response: a private, deeply frozen copy of what was put (readers share it without
 * being able to corrupt the store) plus its body. Lookups hand out this very object: nothing is
 * allocated per hit.
 */
class MemoryEntry implements StoredEntry {
  readonly key: string
  readonly variantKey: string
  readonly status: number
  readonly headers: [string, string][]
  readonly requestTime: number
  readonly responseTime: number
  readonly expiresAt: number
  readonly tags: string[]
  readonly size: number
  readonly #slots: ReadonlyMap<string, MemoryEntry>
  readonly #id: string
  readonly #body: Buffer
  #alone: readonly MemoryEntry[] | undefined

  constructor(e: NewEntry, size: number, slots: ReadonlyMap<string, MemoryEntry>, id: string, body: Buffer) {
    this.key = e.key
    this.variantKey = e.variantKey
    this.status = e.status
    this.headers = Object.freeze(e.headers.map(([n, v]) => Object.freeze([n, v]))) as [string, string][]
    this.requestTime = e.requestTime
    this.responseTime = e.responseTime
    this.expiresAt = e.expiresAt
    this.tags = Object.freeze([...new Set(e.tags)]) as string[]
    this.size = size
    this.#slots = slots
    this.#id = id
    this.#body = body
    Object.freeze(this)
  }

  static bytes(e: MemoryEntry): Buffer {
    return e.#body
  }

  /** `[this]`: what a lookup of a key with a single variant returns. */
  alone(): readonly MemoryEntry[] {
    return (this.#alone ??= Object.freeze([this]))
  }

  bodyNow(): Buffer | undefined {
    // Replaced or removed since the lookup: only ever hand out the bytes this entry describes. A
    // 304 refresh (updateMeta) keeps the same body, so it does not invalidate an older entry.
    const current = this.#slots.get(this.#id)
    return current !== undefined && current.#body === this.#body ? this.#body : undefined
  }

  async body(): Promise<AsyncIterable<Uint8Array> | undefined> {
    const bytes = this.bodyNow()
    return bytes && oneChunk(bytes)
  }
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes
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

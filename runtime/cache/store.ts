// The storage seam for the HTTP cache. Stores are dumb: they keep what they are given until
// `expiresAt` (or until evicted/purged) and make no RFC 9111 decisions; those live in policy.ts.
// Every implementation runs test/cache/store-conformance.ts.

/** Everything about a stored response except its body. Times are epoch ms. */
export interface StoredMeta {
  /** Primary key (e.g. `defaultCacheKey(...)`). */
  key: string
  /** Secondary key from `variantKey(...)`: '' without Vary. (key, variantKey) is unique. */
  variantKey: string
  status: number
  /** Header lines as stored (see `headersToStore`). */
  headers: [string, string][]
  requestTime: number
  responseTime: number
  /** When the store may drop the entry (see `storeUntil`). */
  expiresAt: number
  /** Purge tags (e.g. from a Surrogate-Key / Cache-Tag header or the route). */
  tags: string[]
  /** Bytes accounted by the store (body + metadata); set by the store on `put`. */
  size: number
}

/** What `put` takes: the store computes `size`. */
export type NewEntry = Omit<StoredMeta, 'size'>

export interface StoredEntry extends StoredMeta {
  /**
   * The body, or undefined when it vanished since `get` (expired, evicted, purged, store down):
   * treat that as a miss. Resolving before any bytes are sent lets the caller fall back cleanly.
   */
  body(): Promise<AsyncIterable<Uint8Array> | undefined>
  /**
   * Stores that hold bodies in process (memory) also hand the body over synchronously: the
   * whole body in one Buffer, or undefined when it vanished since the lookup. A cache hit then
   * needs no promise at all. Absent on stores that need I/O: use `body()`.
   */
  bodyNow?(): Buffer | undefined
}

export type BodySource = AsyncIterable<Uint8Array>

export interface CacheStore {
  /** Every live variant stored under `key`, or undefined when there is none. Never rejects. */
  get(key: string): Promise<StoredEntry[] | undefined>
  /**
   * The same lookup, synchronously, for stores that hold their entries in process (memory).
   * Entries it returns carry `bodyNow`. Entries (and the array) may be shared between calls and
   * are frozen: treat them as read-only. Absent on stores that need I/O.
   */
  getNow?(key: string): readonly StoredEntry[] | undefined
  /**
   * Stores (or replaces) the entry (key, variantKey) with a streamed body. Resolves false, storing
   * nothing, if the body exceeds the store's `maxObjectSize`, the body stream errors, the entry is
   * already expired, or the store is unavailable. Reading stops at the size limit (the iterator's
   * `return()` runs, which destroys a Node Readable): feed it a branch of the body you can abandon.
   * Never rejects.
   */
  put(entry: NewEntry, body: BodySource): Promise<boolean>
  /** Replaces the metadata of an existing (key, variantKey) entry, keeping its body (304 refresh). */
  updateMeta(entry: NewEntry): Promise<boolean>
  /** Deletes one variant, or every variant of `key` when `variantKey` is omitted. */
  delete(key: string, variantKey?: string): Promise<void>
  /** Deletes every entry tagged `tag`; resolves the number of entries removed. */
  purgeTag(tag: string): Promise<number>
  /** Deletes every entry whose primary key starts with `prefix`; resolves the number removed. */
  purgePrefix(prefix: string): Promise<number>
  /**
   * Deletes every entry with a default key (see `keyPath`) whose path starts with `path`, on
   * any host and method; resolves the number removed.
   */
  purgePathPrefix(path: string): Promise<number>
  /** False while the backing service is unreachable (memory: always true). */
  isHealthy(): boolean
  close(): Promise<void>
}

/**
 * Reads a body into one Buffer, giving up (undefined) past `limit` bytes or when the body breaks
 * off (a stream error). Cache entries are bounded by `maxObjectSize`, so buffering one is allowed
 * by the hot-path rules. A body in a single chunk comes back as that chunk, not copied, unless
 * `copy`: a store that keeps the Buffer wants its own compact one, not a view that may pin a
 * larger buffer (e.g. a whole socket read).
 */
export async function readBody(body: BodySource, limit = Infinity, copy = false): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for await (const chunk of body) {
      total += chunk.byteLength
      if (total > limit) return undefined // leaving the loop calls the iterator's return()
      chunks.push(chunk)
    }
  } catch {
    return undefined
  }
  if (chunks.length === 1 && !copy) {
    const c = chunks[0]!
    return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength)
  }
  return Buffer.concat(chunks, total)
}

/** Rough bytes of metadata, for byte accounting. */
export function metaBytes(e: NewEntry): number {
  let n = e.key.length + e.variantKey.length
  for (const [name, value] of e.headers) n += name.length + value.length + 4
  for (const t of e.tags) n += t.length
  return n
}

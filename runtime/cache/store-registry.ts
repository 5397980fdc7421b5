// Cache stores outlive Generations: a reload that keeps the same store settings keeps the same
// store (and its contents). Keyed by `storeId(settings)`; a store no live Generation uses is
// closed by `retain`, and every store by `closeAll` (Runtime.close).
import { MemoryStore } from './memory-store.js'
import { RedisStore, type StoreLog } from './redis-store.js'
import { storeId, type ResolvedStoreSettings } from './cache-config.js'
import type { CacheStore } from './store.js'

/** Stores accept any body up to this; each route's own maxObjectSize is enforced before the store. */
const STORE_OBJECT_LIMIT = 1024 * 1024 * 1024

export interface StoreRegistryOptions {
  now?: () => number
  log?: StoreLog
}

export class StoreRegistry {
  readonly #stores = new Map<string, CacheStore>()

  constructor(readonly options: StoreRegistryOptions = {}) {}

  get(settings: ResolvedStoreSettings): CacheStore {
    const id = storeId(settings)
    let store = this.#stores.get(id)
    if (!store) {
      store = this.#create(settings)
      this.#stores.set(id, store)
    }
    return store
  }

  /** Every open store with its id (for purges and /health). */
  entries(): Array<[string, CacheStore]> {
    return [...this.#stores]
  }

  /** Closes the stores whose id is not in `ids`. */
  async retain(ids: ReadonlySet<string>): Promise<void> {
    const gone: CacheStore[] = []
    for (const [id, store] of this.#stores) {
      if (ids.has(id)) continue
      this.#stores.delete(id)
      gone.push(store)
    }
    await Promise.all(gone.map((s) => s.close()))
  }

  async closeAll(): Promise<void> {
    await this.retain(new Set())
  }

  #create(s: ResolvedStoreSettings): CacheStore {
    const now = this.options.now
    if (s.type === 'memory') return new MemoryStore({ maxSize: s.maxSize, maxObjectSize: Math.min(s.maxSize, STORE_OBJECT_LIMIT), ...(now ? { now } : {}) })
    return new RedisStore({
      redis: s.url, prefix: s.prefix, maxObjectSize: STORE_OBJECT_LIMIT, ...(now ? { now } : {}), ...(this.options.log ? { log: this.options.log } : {}),
    })
  }
}

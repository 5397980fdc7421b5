// Purges over every open store: by exact key, by URL (its default key), by prefix, by tag.
import { cacheKeyForUrl } from './cache-key.js'
import type { CacheStore } from './store.js'

export type PurgeRequest = { key: string } | { url: string } | { prefix: string } | { tag: string }

/**
 * What a prefix means: an absolute `http(s)://host[:port]/path` URL prefix (default keys of
 * that origin), a path starting with `/` (default keys on any host), or otherwise a raw key prefix
 * (keys a route's `cache.key` function made).
 */
export function prefixKind(prefix: string): { kind: 'key' | 'path'; value: string } {
  if (/^https?:\/\//i.test(prefix)) {
    const u = new URL(prefix)
    const key = cacheKeyForUrl('GET', prefix)
    // cacheKeyForUrl adds '/' for an empty path; keep the user's bare origin as a prefix.
    const bare = u.pathname === '/' && !/^https?:\/\/[^/]+\//i.test(prefix)
    return { kind: 'key', value: bare ? key.slice(0, -1) : key.replace(/\?$/, '') }
  }
  if (prefix.startsWith('/')) return { kind: 'path', value: prefix }
  return { kind: 'key', value: prefix }
}

/** Number of entries removed. Rejects when a store cannot be reached (Redis down). */
export async function purge(stores: readonly CacheStore[], req: PurgeRequest): Promise<number> {
  let n = 0
  for (const store of stores) {
    if ('tag' in req) n += await store.purgeTag(req.tag)
    else if ('prefix' in req) {
      const p = prefixKind(req.prefix)
      n += p.kind === 'path' ? await store.purgePathPrefix(p.value) : await store.purgePrefix(p.value)
    } else {
      const key = 'key' in req ? req.key : cacheKeyForUrl('GET', req.url)
      if (!store.isHealthy()) throw new Error('cache store unavailable')
      n += (await store.get(key))?.length ?? 0
      await store.delete(key)
    }
  }
  return n
}

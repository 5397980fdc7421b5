// The cache part of a ResolvedConfig: what src/config/resolve-cache.ts produces and the cache
// layer consumes. Durations ms, sizes bytes, defaults filled in.
import type { CacheKeyRequest } from '../../src/config/types.js'

export type CacheKeyFunction = (req: CacheKeyRequest) => string

export type ResolvedStoreSettings =
  | { type: 'memory'; maxSize: number }
  | { type: 'redis'; url: string; prefix: string }

export interface ResolvedCacheSettings {
  /** The store a route uses when it names none. */
  defaultStore: 'memory' | 'redis'
  memory: { type: 'memory'; maxSize: number }
  /** Present when `cache.store` is a Redis config. */
  redis?: { type: 'redis'; url: string; prefix: string }
  maxObjectSize: number
  lockTimeout: number
}

export interface ResolvedRouteCache {
  store: 'memory' | 'redis'
  ttl?: number
  key?: CacheKeyFunction
  maxObjectSize: number
  /** Uppercase; a subset of GET, HEAD. */
  methods: string[]
  staleWhileRevalidate?: number
  staleIfError?: number
  ignoreNoCache: boolean
  allowSetCookie: boolean
  tags: string[]
}

export interface ResolvedAdmin {
  listen: { host: string; port: number }
  token?: string
}

export const DEFAULT_CACHE_SETTINGS: ResolvedCacheSettings = {
  defaultStore: 'memory',
  memory: { type: 'memory', maxSize: 256 * 1024 * 1024 },
  maxObjectSize: 8 * 1024 * 1024,
  lockTimeout: 5000,
}

/** A stable identity for a store's settings: the registry key that lets a store outlive reloads. */
export function storeId(s: ResolvedStoreSettings): string {
  return s.type === 'memory' ? `memory|${s.maxSize}` : `redis|${s.url}|${s.prefix}`
}

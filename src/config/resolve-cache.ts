/** `cache` (global stores), a route's `cache` option, and `admin`: checked, defaulted, in ms/bytes. */
import {
  DEFAULT_CACHE_SETTINGS, type CacheKeyFunction, type ResolvedAdmin, type ResolvedCacheSettings, type ResolvedRouteCache,
} from '../../runtime/cache/cache-config.js'
import { describe, parseSize } from './units.js'
import { Problems, isRecord, checkKeys, expectBoolean, expectInteger, expectString, duration } from './validate.js'

const ROUTE_CACHE_KEYS = [
  'ttl', 'key', 'store', 'maxObjectSize', 'methods', 'staleWhileRevalidate', 'staleIfError', 'ignoreNoCache',
  'allowSetCookie', 'tags',
] as const
const TAG = /^[\x21-\x7e]+$/

function size(value: unknown, fallback: number, path: string, p: Problems): number {
  if (value === undefined) return fallback
  const n = parseSize(value)
  if (typeof n === 'string') {
    p.add(path, n)
    return fallback
  }
  return n
}

function optionalDuration(value: unknown, path: string, p: Problems): number | undefined {
  return value === undefined ? undefined : duration(value, 0, path, p)
}

export function resolveCacheSettings(value: unknown, p: Problems): ResolvedCacheSettings {
  if (value === undefined) return DEFAULT_CACHE_SETTINGS
  if (!isRecord(value)) {
    p.add('cache', `expected { store?, maxSize?, maxObjectSize?, lockTimeout? }, got ${describe(value)}`)
    return DEFAULT_CACHE_SETTINGS
  }
  checkKeys(value, ['store', 'maxSize', 'maxObjectSize', 'lockTimeout'], 'cache', p)
  const d = DEFAULT_CACHE_SETTINGS
  const out: ResolvedCacheSettings = {
    defaultStore: 'memory',
    memory: { type: 'memory', maxSize: size(value.maxSize, d.memory.maxSize, 'cache.maxSize', p) },
    maxObjectSize: size(value.maxObjectSize, d.maxObjectSize, 'cache.maxObjectSize', p),
    lockTimeout: duration(value.lockTimeout, d.lockTimeout, 'cache.lockTimeout', p),
  }
  const store = value.store ?? 'memory'
  if (isRecord(store)) {
    checkKeys(store, ['type', 'url', 'prefix'], 'cache.store', p)
    if (store.type !== 'redis') p.add('cache.store.type', `expected 'redis', got ${describe(store.type)}`)
    const prefix = store.prefix ?? 'switchyard:cache:'
    if (expectString(store.url, 'cache.store.url', p) && expectString(prefix, 'cache.store.prefix', p)) {
      if (!/^rediss?:\/\//.test(store.url)) p.add('cache.store.url', `expected a redis:// URL, got ${describe(store.url)}`)
      out.redis = { type: 'redis', url: store.url, prefix }
      out.defaultStore = 'redis'
    }
  } else if (store !== 'memory') {
    p.add('cache.store', `expected 'memory' or { type: 'redis', url, prefix? }, got ${describe(store)}`)
  }
  if (out.maxObjectSize > out.memory.maxSize) {
    p.add('cache.maxObjectSize', `is larger than cache.maxSize (${out.memory.maxSize} bytes)`)
  }
  return out
}

/** A route's `cache` option; `isForward` false (redirect/respond/handle) is a problem. */
export function resolveRouteCache(
  value: unknown, isForward: boolean, path: string, settings: ResolvedCacheSettings, p: Problems,
): ResolvedRouteCache | undefined {
  if (value === undefined || value === false) return undefined
  if (!isForward) return void p.add(path, 'only forwarding routes (to) take a cache')
  const v = value === true ? {} : value
  if (!isRecord(v)) return void p.add(path, `expected true or { ttl?, key?, store?, … }, got ${describe(v)}`)
  checkKeys(v, ROUTE_CACHE_KEYS, path, p)
  const out: ResolvedRouteCache = {
    store: settings.defaultStore,
    maxObjectSize: size(v.maxObjectSize, settings.maxObjectSize, `${path}.maxObjectSize`, p),
    methods: ['GET', 'HEAD'],
    ignoreNoCache: false,
    allowSetCookie: false,
    tags: [],
  }
  const ttl = optionalDuration(v.ttl, `${path}.ttl`, p)
  if (ttl !== undefined) out.ttl = ttl
  const swr = optionalDuration(v.staleWhileRevalidate, `${path}.staleWhileRevalidate`, p)
  if (swr !== undefined) out.staleWhileRevalidate = swr
  const sie = optionalDuration(v.staleIfError, `${path}.staleIfError`, p)
  if (sie !== undefined) out.staleIfError = sie
  if (v.key !== undefined) {
    if (typeof v.key === 'function') out.key = v.key as CacheKeyFunction
    else p.add(`${path}.key`, `expected a function (req) => string, got ${describe(v.key)}`)
  }
  if (v.store !== undefined) {
    if (v.store === 'memory') out.store = 'memory'
    else if (v.store === 'redis') {
      if (settings.redis) out.store = 'redis'
      else p.add(`${path}.store`, "'redis' needs a Redis store: cache: { store: { type: 'redis', url: 'redis://…' } }")
    } else p.add(`${path}.store`, `expected 'memory' or 'redis', got ${describe(v.store)}`)
  }
  if (out.maxObjectSize > settings.maxObjectSize && v.maxObjectSize !== undefined) {
    p.add(`${path}.maxObjectSize`, `is larger than cache.maxObjectSize (${settings.maxObjectSize} bytes)`)
  }
  if (v.methods !== undefined) {
    if (!Array.isArray(v.methods) || v.methods.length === 0) p.add(`${path}.methods`, `expected ['GET'] and/or ['HEAD'], got ${describe(v.methods)}`)
    else {
      out.methods = []
      for (const m of v.methods) {
        const up = typeof m === 'string' ? m.toUpperCase() : m
        if (up === 'GET' || up === 'HEAD') out.methods.push(up)
        else p.add(`${path}.methods`, `only GET and HEAD are answered from the cache (other methods pass through and invalidate), got ${describe(m)}`)
      }
    }
  }
  for (const key of ['ignoreNoCache', 'allowSetCookie'] as const) {
    if (v[key] === undefined) continue
    if (expectBoolean(v[key], `${path}.${key}`, p)) out[key] = v[key] === true
  }
  if (v.tags !== undefined) {
    if (!Array.isArray(v.tags)) p.add(`${path}.tags`, `expected an array of tag strings, got ${describe(v.tags)}`)
    else for (const t of v.tags) {
      if (typeof t === 'string' && TAG.test(t) && !t.includes(',')) out.tags.push(t)
      else p.add(`${path}.tags`, `expected tags without spaces or commas, got ${describe(t)}`)
    }
  }
  return out
}

export function resolveAdmin(value: unknown, p: Problems): ResolvedAdmin | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) return void p.add('admin', `expected { listen, token? }, got ${describe(value)}`)
  checkKeys(value, ['listen', 'token'], 'admin', p)
  const l = value.listen
  let listen: ResolvedAdmin['listen'] | undefined
  if (typeof l === 'number') {
    if (expectInteger(l, 'admin.listen', p, 0, 65535)) listen = { host: '127.0.0.1', port: l }
  } else if (isRecord(l)) {
    checkKeys(l, ['port', 'host'], 'admin.listen', p)
    const host = l.host ?? '127.0.0.1'
    if (expectInteger(l.port, 'admin.listen.port', p, 0, 65535) && expectString(host, 'admin.listen.host', p)) listen = { host, port: l.port }
  } else p.add('admin.listen', `expected a port number or { port, host }, got ${describe(l)}`)
  if (value.token !== undefined) expectString(value.token, 'admin.token', p)
  if (!listen) return undefined
  return typeof value.token === 'string' && value.token !== '' ? { listen, token: value.token } : { listen }
}

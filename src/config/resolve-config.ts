/**
 * Turns the user's config value into a ResolvedConfig: every option checked (with the key
 * path in the message), defaults filled in, units converted. Throws ConfigError listing
 * every problem found, not just the first. Upstreams and routes have files of their own.
 */
import type { ResolvedConfig, ResolvedListen } from '../../runtime/resolved-config.js'
import type { ConfigMode } from './types.js'
import { parseSize, describe } from './units.js'
import { Problems, isRecord, checkKeys, expectString, expectInteger, expectBoolean, asList, duration } from './validate.js'
import { ConfigError } from './config-error.js'
import { resolveUpstreams } from './resolve-upstreams.js'
import { resolveRoutes } from './resolve-routes.js'
import { resolveAdmin, resolveCacheSettings } from './resolve-cache.js'
import { resolveLayers } from './resolve-hooks.js'
import { resolveTrustProxy } from './resolve-trust.js'

const TOP_KEYS = ['listen', 'upstreams', 'routes', 'forwardedHeaders', 'trustProxy', 'server', 'log', 'cache', 'admin', 'use', 'hooks'] as const

export function resolveConfig(input: unknown, mode: ConfigMode, file?: string): ResolvedConfig {
  const p = new Problems()
  if (!isRecord(input)) {
    throw new ConfigError([{ path: 'config', message: `the default export must be an object (or a function returning one), got ${describe(input)}` }], file)
  }
  checkKeys(input, TOP_KEYS, 'config', p)
  const listen = resolveListen(input.listen, p)
  const upstreams = resolveUpstreams(input.upstreams, p)
  const cache = resolveCacheSettings(input.cache, p)
  const routes = resolveRoutes(input.routes, upstreams, p, cache)
  const admin = resolveAdmin(input.admin, p)
  const trustProxy = resolveTrustProxy(input.trustProxy, p)
  const config: ResolvedConfig = {
    listen,
    upstreams,
    routes,
    forwardedHeaders: resolveForwarded(input.forwardedHeaders, p),
    server: resolveServer(input.server, p),
    log: resolveLog(input.log, mode, p),
    cache,
    ...(admin ? { admin } : {}),
    ...(trustProxy ? { trustProxy } : {}),
    layers: resolveLayers(input.use, input.hooks, '', p),
  }
  if (p.list.length > 0) throw new ConfigError(p.list, file)
  return config
}

function resolveListen(value: unknown, p: Problems): ResolvedListen[] {
  if (value === undefined) return [{ host: '127.0.0.1', port: 8080 }]
  const out: ResolvedListen[] = []
  asList(value).forEach((entry, i) => {
    const path = Array.isArray(value) ? `listen[${i}]` : 'listen'
    if (typeof entry === 'number') {
      if (expectInteger(entry, path, p, 0, 65535)) out.push({ host: '127.0.0.1', port: entry })
      return
    }
    if (!isRecord(entry)) return p.add(path, `expected a port number or { port, host }, got ${describe(entry)}`)
    checkKeys(entry, ['port', 'host'], path, p)
    const port = entry.port ?? 8080
    const host = entry.host ?? '127.0.0.1'
    if (expectInteger(port, `${path}.port`, p, 0, 65535) && expectString(host, `${path}.host`, p)) out.push({ host, port })
  })
  return out
}

function resolveForwarded(value: unknown, p: Problems): ResolvedConfig['forwardedHeaders'] {
  const v = value === undefined ? {} : value
  if (!isRecord(v)) {
    p.add('forwardedHeaders', `expected { xForwarded?, forwarded? }, got ${describe(v)}`)
    return { xForwarded: true, forwarded: false }
  }
  checkKeys(v, ['xForwarded', 'forwarded'], 'forwardedHeaders', p)
  const xForwarded = v.xForwarded ?? true
  const forwarded = v.forwarded ?? false
  expectBoolean(xForwarded, 'forwardedHeaders.xForwarded', p)
  expectBoolean(forwarded, 'forwardedHeaders.forwarded', p)
  return { xForwarded: xForwarded === true, forwarded: forwarded === true }
}

function resolveServer(value: unknown, p: Problems): ResolvedConfig['server'] {
  const v = value === undefined ? {} : value
  if (!isRecord(v)) p.add('server', `expected an object, got ${describe(v)}`)
  const s = isRecord(v) ? v : {}
  checkKeys(s, ['drainTimeout', 'headersTimeout', 'keepAliveTimeout', 'maxHeaderSize', 'bodyIdleTimeout', 'fastFront', 'maxConnections'], 'server', p)
  const maxConnections = s.maxConnections
  if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && (maxConnections as number) > 0)) {
    p.add('server.maxConnections', `expected a whole number above 0, got ${describe(maxConnections)}`)
  }
  if (s.fastFront !== undefined && typeof s.fastFront !== 'boolean') p.add('server.fastFront', `expected true or false, got ${describe(s.fastFront)}`)
  let maxHeaderSize = 16 * 1024
  if (s.maxHeaderSize !== undefined) {
    const size = parseSize(s.maxHeaderSize)
    if (typeof size === 'string') p.add('server.maxHeaderSize', size)
    else maxHeaderSize = size
  }
  return {
    drainTimeout: duration(s.drainTimeout, 10_000, 'server.drainTimeout', p),
    headersTimeout: duration(s.headersTimeout, 30_000, 'server.headersTimeout', p),
    keepAliveTimeout: duration(s.keepAliveTimeout, 5000, 'server.keepAliveTimeout', p),
    maxHeaderSize,
    bodyIdleTimeout: duration(s.bodyIdleTimeout, 60_000, 'server.bodyIdleTimeout', p),
    fastFront: s.fastFront !== false,
    ...(typeof maxConnections === 'number' && maxConnections > 0 ? { maxConnections } : {}),
  }
}

function resolveLog(value: unknown, mode: ConfigMode, p: Problems): ResolvedConfig['log'] {
  const v = value === undefined ? {} : value
  if (!isRecord(v)) p.add('log', `expected { format?, access? }, got ${describe(v)}`)
  const l = isRecord(v) ? v : {}
  checkKeys(l, ['format', 'access'], 'log', p)
  const format = l.format ?? (mode === 'dev' ? 'pretty' : 'pretty')
  if (format !== 'pretty' && format !== 'json') p.add('log.format', `expected 'pretty' or 'json', got ${describe(format)}`)
  const access = l.access ?? true
  expectBoolean(access, 'log.access', p)
  return { format: format === 'json' ? 'json' : 'pretty', access: access === true }
}

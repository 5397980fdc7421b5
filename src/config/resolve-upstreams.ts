/** `upstreams`: named server groups, their pools, timeouts and balancing. */
import type { ResolvedUpstream } from '../../runtime/resolved-config.js'
import { describe } from './units.js'
import { Problems, isRecord, checkKeys, expectInteger, expectBoolean, duration } from './validate.js'
import { resolveBalance, resolveHealth, resolvePassive, resolveRetry, resolveSticky, resolveQueue } from './resolve-balancing.js'

const UPSTREAM_KEYS = ['servers', 'balance', 'host', 'keepAlive', 'timeouts', 'health', 'passive', 'retry', 'sticky', 'queue'] as const
const SERVER_KEYS = ['url', 'weight', 'backup', 'down', 'maxConns', 'slowStart'] as const

export function resolveUpstreams(value: unknown, p: Problems): Map<string, ResolvedUpstream> {
  const out = new Map<string, ResolvedUpstream>()
  if (value === undefined) return out
  if (!isRecord(value)) {
    p.add('upstreams', `expected an object of named groups, got ${describe(value)}`)
    return out
  }
  for (const [name, group] of Object.entries(value)) {
    const path = `upstreams.${name}`
    if (!isRecord(group)) {
      p.add(path, `expected { servers: [...] }, got ${describe(group)}`)
      continue
    }
    checkKeys(group, UPSTREAM_KEYS, path, p)
    const servers: ResolvedUpstream['servers'] = []
    if (!Array.isArray(group.servers) || group.servers.length === 0) {
      p.add(`${path}.servers`, `expected a non-empty array of URLs or { url, weight }, got ${describe(group.servers)}`)
    } else {
      group.servers.forEach((server, i) => {
        const spath = `${path}.servers[${i}]`
        const entry = typeof server === 'string' ? { url: server } : server
        if (!isRecord(entry)) return p.add(spath, `expected a URL string or { url, weight }, got ${describe(server)}`)
        checkKeys(entry, SERVER_KEYS, spath, p)
        const origin = parseOrigin(entry.url, spath, p)
        const weight = entry.weight ?? 1
        if (typeof weight !== 'number' || !(weight > 0) || !Number.isFinite(weight)) {
          return p.add(`${spath}.weight`, `expected a positive number, got ${describe(weight)}`)
        }
        const backup = entry.backup ?? false
        const down = entry.down ?? false
        const maxConns = entry.maxConns ?? 0
        expectBoolean(backup, `${spath}.backup`, p)
        expectBoolean(down, `${spath}.down`, p)
        if (entry.maxConns !== undefined) expectInteger(maxConns, `${spath}.maxConns`, p, 1, 1_000_000)
        const slowStart = duration(entry.slowStart, 0, `${spath}.slowStart`, p)
        if (origin && servers.some((s) => s.origin === origin)) return p.add(spath, `duplicate server ${origin}`, origin)
        if (origin) {
          const resolved: ResolvedUpstream['servers'][number] = { origin, weight }
          if (backup === true) resolved.backup = true
          if (down === true) resolved.down = true
          if (Number(maxConns) > 0) resolved.maxConns = Number(maxConns)
          if (slowStart > 0) resolved.slowStart = slowStart
          servers.push(resolved)
        }
      })
    }
    const balance = resolveBalance(group.balance, `${path}.balance`, p)
    const host = group.host ?? 'preserve'
    let hostMode: ResolvedUpstream['host'] = { kind: 'preserve' }
    if (host === 'upstream') hostMode = { kind: 'upstream' }
    else if (typeof host === 'string' && host !== 'preserve' && /^[a-z0-9.\-:[\]]+$/i.test(host)) hostMode = { kind: 'fixed', value: host }
    else if (host !== 'preserve') p.add(`${path}.host`, `expected 'preserve', 'upstream' or a host name, got ${describe(host)}`)
    const ka = group.keepAlive === undefined ? {} : group.keepAlive
    const to = group.timeouts === undefined ? {} : group.timeouts
    if (!isRecord(ka)) p.add(`${path}.keepAlive`, `expected an object, got ${describe(ka)}`)
    if (!isRecord(to)) p.add(`${path}.timeouts`, `expected an object, got ${describe(to)}`)
    const k = isRecord(ka) ? ka : {}
    const t = isRecord(to) ? to : {}
    checkKeys(k, ['connections', 'idleTimeout', 'maxIdleTimeout', 'maxRequestsPerConnection'], `${path}.keepAlive`, p)
    checkKeys(t, ['connect', 'responseHeaders', 'bodyIdle', 'total', 'tunnelIdle'], `${path}.timeouts`, p)
    const connections = k.connections ?? 128
    const maxRequests = k.maxRequestsPerConnection ?? 0
    expectInteger(connections, `${path}.keepAlive.connections`, p, 1, 65536)
    expectInteger(maxRequests, `${path}.keepAlive.maxRequestsPerConnection`, p, 0, 2 ** 31)
    out.set(name, {
      name,
      servers,
      balance,
      host: hostMode,
      keepAlive: {
        connections: connections as number,
        idleTimeout: duration(k.idleTimeout, 4000, `${path}.keepAlive.idleTimeout`, p),
        maxIdleTimeout: duration(k.maxIdleTimeout, 600_000, `${path}.keepAlive.maxIdleTimeout`, p),
        maxRequestsPerConnection: maxRequests as number,
      },
      timeouts: {
        connect: duration(t.connect, 5000, `${path}.timeouts.connect`, p),
        responseHeaders: duration(t.responseHeaders, 60_000, `${path}.timeouts.responseHeaders`, p),
        bodyIdle: duration(t.bodyIdle, 60_000, `${path}.timeouts.bodyIdle`, p),
        total: duration(t.total, 0, `${path}.timeouts.total`, p),
        tunnelIdle: duration(t.tunnelIdle, 3_600_000, `${path}.timeouts.tunnelIdle`, p),
      },
      health: resolveHealth(group.health, `${path}.health`, p),
      passive: resolvePassive(group.passive, servers.length, `${path}.passive`, p),
      retry: resolveRetry(group.retry, `${path}.retry`, p),
      sticky: resolveSticky(group.sticky, `${path}.sticky`, p),
      queue: resolveQueue(group.queue, `${path}.queue`, p),
    })
  }
  return out
}

function parseOrigin(value: unknown, path: string, p: Problems): string | undefined {
  if (typeof value !== 'string') {
    p.add(`${path}.url`, `expected a URL such as 'http://127.0.0.1:3001', got ${describe(value)}`)
    return undefined
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    p.add(path, `'${value}' is not a URL (expected e.g. 'http://127.0.0.1:3001')`, value)
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    p.add(path, `'${value}': only http:// and https:// upstreams are supported`, value)
    return undefined
  }
  return url.origin
}


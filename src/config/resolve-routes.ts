/** `routes`: match conditions, actions, rewrites and header rules. */
import type {
  ResolvedHeaderRules, ResolvedMatch, ResolvedRoute, ResolvedUpstream, RouteAction, HeaderMatcher, ResolvedRewrite,
} from '../../runtime/resolved-config.js'
import type { Handler } from './types.js'
import { describe } from './units.js'
import { Problems, isRecord, checkKeys, expectString, expectInteger, expectBoolean, asList, duration } from './validate.js'
import { checkPathPattern } from '../../runtime/router/path-pattern.js'
import { resolveLayers } from './resolve-hooks.js'
import { DEFAULT_CACHE_SETTINGS, type ResolvedCacheSettings } from '../../runtime/cache/cache-config.js'
import { resolveRouteCache } from './resolve-cache.js'
import { resolveRetry } from './resolve-balancing.js'

const ROUTE_KEYS = ['name', 'match', 'headers', 'to', 'rewrite', 'redirect', 'respond', 'handle', 'handlerTimeout', 'cache', 'retry', 'use', 'hooks'] as const
const ACTIONS = ['to', 'redirect', 'respond', 'handle'] as const
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

export function resolveRoutes(
  value: unknown, upstreams: Map<string, ResolvedUpstream>, p: Problems, cache: ResolvedCacheSettings = DEFAULT_CACHE_SETTINGS,
): ResolvedRoute[] {
  if (!Array.isArray(value)) {
    p.add('routes', `expected an array of routes, got ${describe(value)}`)
    return []
  }
  const out: ResolvedRoute[] = []
  value.forEach((route, index) => {
    const path = `routes[${index}]`
    if (!isRecord(route)) return p.add(path, `expected a route object, got ${describe(route)}`)
    checkKeys(route, ROUTE_KEYS, path, p)
    const actions = ACTIONS.filter((a) => route[a] !== undefined)
    if (actions.length !== 1) {
      return p.add(path, actions.length === 0
        ? `needs one action: to (forward), redirect, respond or handle`
        : `has ${actions.join(' and ')}: a route takes exactly one action`)
    }
    const name = route.name === undefined ? path : route.name
    if (typeof name !== 'string') p.add(`${path}.name`, `expected a string, got ${describe(name)}`)
    const action = resolveAction(actions[0]!, route, path, upstreams, p)
    const headers = route.headers === undefined ? {} : route.headers
    if (!isRecord(headers)) p.add(`${path}.headers`, `expected { request?, response? }, got ${describe(headers)}`)
    else checkKeys(headers, ['request', 'response'], `${path}.headers`, p)
    const h = isRecord(headers) ? headers : {}
    const routeCache = resolveRouteCache(route.cache, actions[0] === 'to', `${path}.cache`, cache, p)
    if (!action) return
    out.push({
      name: String(name),
      index,
      match: resolveMatch(route.match, `${path}.match`, p),
      action,
      requestHeaders: resolveHeaderRules(h.request, `${path}.headers.request`, p),
      responseHeaders: resolveHeaderRules(h.response, `${path}.headers.response`, p),
      ...(routeCache ? { cache: routeCache } : {}),
      layers: resolveLayers(route.use, route.hooks, path, p),
    })
  })
  return out
}

function resolveAction(
  kind: (typeof ACTIONS)[number], route: Record<string, unknown>, path: string,
  upstreams: Map<string, ResolvedUpstream>, p: Problems,
): RouteAction | undefined {
  if (kind === 'to') {
    const to = route.to
    if (!expectString(to, `${path}.to`, p)) return undefined
    if (!upstreams.has(to)) {
      const known = [...upstreams.keys()]
      p.add(`${path}.to`, `unknown upstream '${to}' (known: ${known.length ? known.join(', ') : 'none — add it under upstreams'})`, to)
      return undefined
    }
    const retry = route.retry === undefined ? undefined : resolveRetry(route.retry, `${path}.retry`, p, upstreams.get(to)!.retry)
    return { type: 'forward', upstream: to, rewrite: resolveRewrite(route.rewrite, `${path}.rewrite`, p), ...(retry ? { retry } : {}) }
  }
  if (route.rewrite !== undefined) p.add(`${path}.rewrite`, 'only forwarding routes (to) take a rewrite')
  if (route.retry !== undefined) p.add(`${path}.retry`, 'only forwarding routes (to) take a retry')
  if (kind === 'redirect') {
    const r = typeof route.redirect === 'string' ? { to: route.redirect } : route.redirect
    if (!isRecord(r)) return void p.add(`${path}.redirect`, `expected a target string or { to, status }, got ${describe(r)}`)
    checkKeys(r, ['to', 'status', 'preserveQuery'], `${path}.redirect`, p)
    const status = r.status ?? 302
    if (![301, 302, 303, 307, 308].includes(status as number)) {
      p.add(`${path}.redirect.status`, `expected 301, 302, 303, 307 or 308, got ${describe(status)}`)
    }
    const preserveQuery = r.preserveQuery ?? true
    expectBoolean(preserveQuery, `${path}.redirect.preserveQuery`, p)
    if (!expectString(r.to, `${path}.redirect.to`, p)) return undefined
    return { type: 'redirect', to: r.to, status: status as number, preserveQuery: preserveQuery === true }
  }
  if (kind === 'respond') {
    const r = route.respond
    if (!isRecord(r)) return void p.add(`${path}.respond`, `expected { status?, body?, headers? }, got ${describe(r)}`)
    checkKeys(r, ['status', 'body', 'headers'], `${path}.respond`, p)
    const status = r.status ?? 200
    expectInteger(status, `${path}.respond.status`, p, 200, 599)
    const headers = resolveHeaderMap(r.headers, `${path}.respond.headers`, p)
    let body: Buffer
    if (r.body === undefined) body = Buffer.alloc(0)
    else if (typeof r.body === 'string') body = Buffer.from(r.body)
    else if (r.body instanceof Uint8Array) body = Buffer.from(r.body)
    else {
      body = Buffer.from(JSON.stringify(r.body))
      if (!headers.some(([n]) => n === 'content-type')) headers.push(['content-type', 'application/json'])
    }
    if (typeof r.body === 'string' && !headers.some(([n]) => n === 'content-type')) {
      headers.push(['content-type', 'text/plain; charset=utf-8'])
    }
    return { type: 'respond', status: status as number, body, headers }
  }
  if (typeof route.handle !== 'function') {
    return void p.add(`${path}.handle`, `expected a function (request, ctx) => Response, got ${describe(route.handle)}`)
  }
  return {
    type: 'handle',
    handler: route.handle as Handler,
    timeout: duration(route.handlerTimeout, 30_000, `${path}.handlerTimeout`, p),
  }
}

function resolveMatch(value: unknown, path: string, p: Problems): ResolvedMatch {
  if (value === undefined) return {}
  if (!isRecord(value)) {
    p.add(path, `expected { host?, path?, method?, headers? }, got ${describe(value)}`)
    return {}
  }
  checkKeys(value, ['host', 'path', 'method', 'headers'], path, p)
  const match: ResolvedMatch = {}
  if (value.host !== undefined) {
    match.hosts = []
    for (const host of asList(value.host)) {
      if (typeof host !== 'string' || !/^(\*\.)?[a-z0-9.\-[\]:]+$/i.test(host)) {
        p.add(`${path}.host`, `expected 'example.com' or '*.example.com', got ${describe(host)}`)
        continue
      }
      // '*.example.com' is kept as '.example.com': a suffix match on a dot boundary.
      match.hosts.push(host.toLowerCase().replace(/^\*\./, '.').replace(/:\d+$/, ''))
    }
  }
  if (value.path !== undefined) {
    match.paths = []
    for (const pattern of asList(value.path)) {
      const error = typeof pattern === 'string' ? checkPathPattern(pattern) : `expected a path pattern string, got ${describe(pattern)}`
      if (error) p.add(`${path}.path`, error, typeof pattern === 'string' ? pattern : undefined)
      else match.paths.push(pattern as string)
    }
  }
  if (value.method !== undefined) {
    match.methods = []
    for (const method of asList(value.method)) {
      if (typeof method !== 'string' || !TOKEN.test(method)) p.add(`${path}.method`, `expected a method name such as 'GET', got ${describe(method)}`)
      else match.methods.push(method.toUpperCase())
    }
  }
  if (value.headers !== undefined) {
    if (!isRecord(value.headers)) p.add(`${path}.headers`, `expected { name: value | RegExp | true }, got ${describe(value.headers)}`)
    else {
      match.headers = []
      for (const [name, want] of Object.entries(value.headers)) {
        const matcher = headerMatcher(want)
        if (!matcher || !TOKEN.test(name)) p.add(`${path}.headers.${name}`, `expected a string, RegExp or boolean, got ${describe(want)}`)
        else match.headers.push([name.toLowerCase(), matcher])
      }
    }
  }
  return match
}

function headerMatcher(want: unknown): HeaderMatcher | undefined {
  if (want === true) return (v) => v !== undefined
  if (want === false) return (v) => v === undefined
  if (typeof want === 'string') return (v) => v === want
  if (want instanceof RegExp) {
    // A fresh, non-global copy: a /g regexp's lastIndex would make .test() alternate.
    const re = new RegExp(want.source, want.flags.replace(/[gy]/g, ''))
    return (v) => v !== undefined && re.test(v)
  }
  return undefined
}

function resolveRewrite(value: unknown, path: string, p: Problems): ResolvedRewrite | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) return void p.add(path, `expected { stripPrefix?, addPrefix?, path?, replace? }, got ${describe(value)}`)
  checkKeys(value, ['stripPrefix', 'addPrefix', 'path', 'replace'], path, p)
  const out: ResolvedRewrite = {}
  for (const key of ['stripPrefix', 'addPrefix', 'path'] as const) {
    const v = value[key]
    if (v === undefined) continue
    if (typeof v !== 'string' || !v.startsWith('/')) p.add(`${path}.${key}`, `expected a path starting with '/', got ${describe(v)}`)
    else out[key] = key === 'path' ? v : v.replace(/\/+$/, '')
  }
  if (value.replace !== undefined) {
    const r = value.replace
    if (!isRecord(r) || !(typeof r.pattern === 'string' || r.pattern instanceof RegExp) || typeof r.with !== 'string') {
      p.add(`${path}.replace`, `expected { pattern: RegExp | string, with: string }, got ${describe(r)}`)
    } else {
      out.replace = { pattern: typeof r.pattern === 'string' ? new RegExp(r.pattern) : r.pattern, with: r.with }
    }
  }
  return out
}

function resolveHeaderMap(value: unknown, path: string, p: Problems): Array<[string, string]> {
  if (value === undefined) return []
  if (!isRecord(value)) {
    p.add(path, `expected { name: value }, got ${describe(value)}`)
    return []
  }
  const out: Array<[string, string]> = []
  for (const [name, v] of Object.entries(value)) {
    if (!TOKEN.test(name)) p.add(`${path}.${name}`, 'is not a valid header name', name)
    else if (typeof v !== 'string' || !HEADER_VALUE.test(v)) p.add(`${path}.${name}`, `expected a header value string without CR/LF, got ${describe(v)}`)
    else out.push([name.toLowerCase(), v])
  }
  return out
}

function resolveHeaderRules(value: unknown, path: string, p: Problems): ResolvedHeaderRules | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) return void p.add(path, `expected { set?, add?, remove? }, got ${describe(value)}`)
  checkKeys(value, ['set', 'add', 'remove'], path, p)
  const set = resolveHeaderMap(value.set, `${path}.set`, p)
  const add = resolveHeaderMap(value.add, `${path}.add`, p)
  const remove: string[] = []
  if (value.remove !== undefined) {
    if (!Array.isArray(value.remove)) p.add(`${path}.remove`, `expected an array of header names, got ${describe(value.remove)}`)
    else for (const name of value.remove) {
      if (typeof name !== 'string' || !TOKEN.test(name)) p.add(`${path}.remove`, `expected header names, got ${describe(name)}`)
      else remove.push(name.toLowerCase())
    }
  }
  for (const [name] of set) if (!remove.includes(name)) remove.push(name)
  return { remove, append: [...set, ...add] }
}


/**
 * Routes are tried in declaration order; the first whose every given condition matches
 * wins. Conditions are precompiled once per Generation.
 */
import type { ResolvedRoute, HeaderMatcher } from '../resolved-config.js'
import { compilePathPattern, NO_PARAMS, type PathMatcher, type PathParams } from './path-pattern.js'

export interface RouteMatchResult {
  route: ResolvedRoute
  params: PathParams
}

/** The request facts a route can match on. */
export interface RoutableRequest {
  method: string
  /** Lowercase host without port ('' when absent). */
  host: string
  path: string
  /** First value of a header by lowercase name. */
  header(name: string): string | undefined
}

interface CompiledRoute {
  route: ResolvedRoute
  methods?: ReadonlySet<string>
  exactHosts?: ReadonlySet<string>
  hostSuffixes?: readonly string[]
  paths?: readonly PathMatcher[]
  headers?: ReadonlyArray<[string, HeaderMatcher]>
}

export class Router {
  readonly #routes: CompiledRoute[]

  constructor(routes: readonly ResolvedRoute[]) {
    this.#routes = routes.map((route) => {
      const m = route.match
      const compiled: CompiledRoute = { route }
      if (m.methods) compiled.methods = new Set(m.methods)
      if (m.hosts) {
        compiled.exactHosts = new Set(m.hosts.filter((h) => !h.startsWith('.')))
        compiled.hostSuffixes = m.hosts.filter((h) => h.startsWith('.'))
      }
      if (m.paths) compiled.paths = m.paths.map(compilePathPattern)
      if (m.headers) compiled.headers = m.headers
      return compiled
    })
  }

  match(req: RoutableRequest): RouteMatchResult | undefined {
    for (const c of this.#routes) {
      if (c.methods && !c.methods.has(req.method)) continue
      if (c.exactHosts && !matchHost(c, req.host)) continue
      if (c.headers && !c.headers.every(([name, test]) => test(req.header(name)))) continue
      let params: PathParams | null = NO_PARAMS
      if (c.paths) {
        params = null
        for (const matcher of c.paths) if ((params = matcher(req.path))) break
        if (!params) continue
      }
      return { route: c.route, params }
    }
    return undefined
  }
}

function matchHost(c: CompiledRoute, host: string): boolean {
  if (c.exactHosts!.has(host)) return true
  // '.example.com' matches 'a.example.com' and 'a.b.example.com', not 'example.com'.
  for (const suffix of c.hostSuffixes!) if (host.length > suffix.length && host.endsWith(suffix)) return true
  return false
}

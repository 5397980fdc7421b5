/**
 * The validated, normalised config the data plane is built from. Produced by
 * src/config/resolve-config.ts; every duration is in ms, every size in bytes, every
 * default filled in, so the runtime never interprets user input.
 */
import type { Handler } from '../src/config/types.js'
import type { Middleware } from '../src/config/hooks.js'
import type { TrustFn } from './client-address.js'
import type { ResolvedAdmin, ResolvedCacheSettings, ResolvedRouteCache } from './cache/cache-config.js'
import type { BalanceSpec } from './balancer/create-balancer.js'
import type {
  ResolvedHealthCheck, ResolvedPassive, ResolvedRetry, ResolvedSticky, ResolvedQueue,
} from './upstream/upstream-settings.js'

export interface ResolvedListen { host: string; port: number }

export interface ResolvedServer {
  origin: string
  weight: number
  /** Issue 3 server options (absent = false / 0: unlimited / no slow start). */
  backup?: boolean
  down?: boolean
  maxConns?: number
  slowStart?: number
}

export type HostHeaderMode = { kind: 'preserve' } | { kind: 'upstream' } | { kind: 'fixed'; value: string }

export interface ResolvedUpstream {
  name: string
  servers: ResolvedServer[]
  balance: BalanceSpec
  host: HostHeaderMode
  keepAlive: { connections: number; idleTimeout: number; maxIdleTimeout: number; maxRequestsPerConnection: number }
  timeouts: {
    connect: number; responseHeaders: number; bodyIdle: number; total: number
    /** Close an Upgrade tunnel after this long without a byte either way (ms; 0: never; absent: 1 h). */
    tunnelIdle?: number
  }
  /** Issue 3 (absent = off / defaults, so hand-built configs stay valid). */
  health?: ResolvedHealthCheck
  passive?: ResolvedPassive
  retry?: ResolvedRetry
  sticky?: ResolvedSticky
  queue?: ResolvedQueue
}

export interface ResolvedHeaderRules {
  /** Lowercase names to remove (also those replaced by `set`). */
  remove: string[]
  /** [name, value] appended after removal (`set` entries first, then `add`). */
  append: Array<[string, string]>
}

export type HeaderMatcher = (value: string | undefined) => boolean

export interface ResolvedMatch {
  /** Lowercase exact hosts and `.suffix` entries for `*.example.com`. */
  hosts?: string[]
  paths?: string[]
  methods?: string[]
  headers?: Array<[string, HeaderMatcher]>
}

export interface ResolvedRewrite {
  stripPrefix?: string
  addPrefix?: string
  path?: string
  replace?: { pattern: RegExp; with: string }
}

export type RouteAction =
  | { type: 'forward'; upstream: string; rewrite?: ResolvedRewrite; retry?: ResolvedRetry }
  | { type: 'redirect'; to: string; status: number; preserveQuery: boolean }
  | { type: 'respond'; status: number; body: Buffer; headers: Array<[string, string]> }
  | { type: 'handle'; handler: Handler; timeout: number }

export interface ResolvedRoute {
  name: string
  index: number
  match: ResolvedMatch
  action: RouteAction
  requestHeaders?: ResolvedHeaderRules
  responseHeaders?: ResolvedHeaderRules
  /** Shared cache for this (forwarding) route; absent = no caching, nothing on the hot path. */
  cache?: ResolvedRouteCache
  /** The route's own middleware layers (`use`, then `hooks`), after the global ones. */
  layers: Middleware[]
}

export interface ResolvedConfig {
  listen: ResolvedListen[]
  upstreams: Map<string, ResolvedUpstream>
  routes: ResolvedRoute[]
  forwardedHeaders: { xForwarded: boolean; forwarded: boolean }
  server: {
    drainTimeout: number; headersTimeout: number; keepAliveTimeout: number; maxHeaderSize: number
    /** Longest gap while reading a request body (ms); absent or 0: none. */
    bodyIdleTimeout?: number
    /** Plain requests go through the fast front (adapters/node/fast-front.ts); absent: true. */
    fastFront?: boolean
    /** Most open client connections per listener; absent: no limit. */
    maxConnections?: number
  }
  /** Whose X-Forwarded-* to believe; absent: nobody. */
  trustProxy?: TrustFn
  log: { format: 'pretty' | 'json'; access: boolean }
  /** Cache stores (absent: defaults). */
  cache?: ResolvedCacheSettings
  /** Admin API listener (absent: off). */
  admin?: ResolvedAdmin
  /** Global middleware layers (`use`, then `hooks`), before every route's own. */
  layers: Middleware[]
}

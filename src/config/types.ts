import type { Hooks, Middleware, RequestLog } from './hooks.js'

/**
 * The shape of `proxy.config.ts`: everything a user can write, fully typed so an
 * editor autocompletes every option and flags a wrong one. Values are checked again
 * at load time (resolve-config.ts) because a config may be plain JavaScript.
 */

/** Milliseconds as a number, or a string such as `'250ms'`, `'5s'`, `'1m'`, `'1h'`. */
export type Duration = number | `${number}${DurationUnit}`
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd'

/** Bytes as a number, or a string such as `'64kb'`, `'10mb'`, `'1gb'` (1 kb = 1024 bytes). */
export type Size = number | `${number}${SizeUnit}`
export type SizeUnit = 'b' | 'kb' | 'mb' | 'gb' | 'KB' | 'MB' | 'GB' | 'k' | 'm' | 'g'

export type HttpMethod =
  | 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS' | 'TRACE' | 'CONNECT'
  | (string & {})

export type ConfigMode = 'dev' | 'start'

export interface ConfigEnv {
  /** `'dev'` under `switchyard dev`, `'start'` under `switchyard start` (and `check`). */
  mode: ConfigMode
}

export interface ListenConfig {
  /** TCP port. Default 8080. `0` lets the OS choose (the chosen port is logged). */
  port?: number
  /** Interface to bind. Default `'127.0.0.1'`. Use `'0.0.0.0'` or `'::'` to accept remote clients. */
  host?: string
}

export interface ServerConfig {
  /** Origin of the upstream server: `http://host:port` (a path, if any, is ignored). */
  url: string
  /** Relative share of traffic for weighted policies. Default 1. */
  weight?: number
  /** Used only when no primary (non-backup) server is available. Default false. */
  backup?: boolean
  /** Taken out by hand: never sent traffic nor probed. Default false. */
  down?: boolean
  /** Most requests in flight to this server from this group; then it is skipped (and, when all are full, requests queue). Default unlimited. */
  maxConns?: number
  /** After the server becomes available again, its weight ramps from 10% to 100% over this. Default 0 (off). */
  slowStart?: Duration
}

export interface KeepAliveConfig {
  /** Most open connections to each server of the group. Default 128. */
  connections?: number
  /** Close a connection idle this long. Default `'4s'`. */
  idleTimeout?: Duration
  /** Longest idle timeout honoured from a server's `Keep-Alive: timeout=` hint. Default `'10m'`. */
  maxIdleTimeout?: Duration
  /** Close a connection after this many requests. Default unlimited. */
  maxRequestsPerConnection?: number
}

export interface UpstreamTimeouts {
  /** Establishing the TCP connection. Default `'5s'`. Exceeded → 504. */
  connect?: Duration
  /** From sending the request to receiving the response headers. Default `'60s'`. Exceeded → 504. */
  responseHeaders?: Duration
  /** Longest gap between two body chunks from the server. Default `'60s'`. Exceeded → client connection aborted. */
  bodyIdle?: Duration
  /** Whole exchange, request start to last response byte. Default none. Before headers → 504; after → abort. */
  total?: Duration
  /**
   * A WebSocket (or other `Upgrade`) tunnel that carries no byte in either direction for this
   * long is closed. Default `'1h'`; `0` = never. (`total` and `bodyIdle` do not apply to tunnels.)
   */
  tunnelIdle?: Duration
}

export interface UpstreamConfig {
  /** The servers of the group: `'http://127.0.0.1:3001'` or `{ url, weight }`. */
  servers: Array<string | ServerConfig>
  /** Balancing policy. Default `'round-robin'` (smooth weighted when weights differ). */
  balance?: BalanceConfig
  /** Active health checks: probe each server in the background. Default off. */
  health?: HealthCheckConfig
  /** Passive health: take a server out after failures of real requests. Default `{ maxFails: 1, failTimeout: '10s' }`; `false` = off. */
  passive?: PassiveHealthConfig | false
  /** Retries to another server. Default `{ tries: 2, on: ['connect-error', 'timeout', 'reset-before-response'] }`; `false` = off. */
  retry?: RetryConfig | false
  /** Sticky sessions by cookie. Default off. */
  sticky?: StickyConfig
  /** Waiting room for when every server is at its `maxConns`. Default `{ size: 100, timeout: '5s' }`. */
  queue?: QueueConfig
  /**
   * `Host` header sent upstream. `'preserve'` (default) passes the client's Host through;
   * `'upstream'` sends the server's own `host:port`; any other string is sent as is.
   */
  host?: 'preserve' | 'upstream' | (string & {})
  keepAlive?: KeepAliveConfig
  timeouts?: UpstreamTimeouts
}

export type {
  BalancePolicyName, BalanceConfig, BalanceFunction, BalanceRequest, BalanceCandidate, HashKeyConfig,
  HealthCheckConfig, ExpectStatus, StatusClass, PassiveHealthConfig, FailureKind, RetryConfig, RetryOn,
  RetryBudgetConfig, StickyConfig, QueueConfig,
} from './balancing-types.js'
import type {
  BalanceConfig, HealthCheckConfig, PassiveHealthConfig, RetryConfig, StickyConfig, QueueConfig,
} from './balancing-types.js'

/** Header edits: `set` replaces, `add` appends, `remove` deletes (applied remove → set → add). */
export interface HeaderRules {
  set?: Record<string, string>
  add?: Record<string, string>
  remove?: string[]
}

export interface RouteMatch {
  /** `'api.example.com'` (exact) or `'*.example.com'` (any subdomain, not the apex). Case-insensitive, port ignored. */
  host?: string | string[]
  /**
   * `'/exact'`, `'/users/:id'` (named segment), `'/static/*'` (splat: the rest, possibly empty,
   * available as `params.splat`). Matched against the canonical path (see README).
   */
  path?: string | string[]
  /** One method or several. */
  method?: HttpMethod | HttpMethod[]
  /** Header name → exact value, a RegExp, or `true` for "present". Names are case-insensitive. */
  headers?: Record<string, string | RegExp | boolean>
}

export interface RewriteConfig {
  /** Remove this prefix from the path (`/v1/users` → `/users`); the result always starts with `/`. */
  stripPrefix?: string
  /** Prepend this prefix after stripping. */
  addPrefix?: string
  /** Replace the whole path with a template using route params: `'/api/:id/:splat'`. */
  path?: string
  /** Regular-expression replacement on the path: `{ pattern: /^\/old/, with: '/new' }`. */
  replace?: { pattern: RegExp | string; with: string }
}

export interface RouteBase {
  /** Shown in logs and `switchyard check`. Default `routes[i]`. */
  name?: string
  /** What the request must look like; every given field must match. No `match` matches everything. */
  match?: RouteMatch
  /** Header edits on the way to the upstream (`request`) and back to the client (`response`). */
  headers?: { request?: HeaderRules; response?: HeaderRules }
  /** Middleware for this route, after the global `use`/`hooks` (see README "Lifecycle hooks"). */
  use?: Middleware[]
  /** Hooks for this route, after its `use`. */
  hooks?: Hooks
}

export interface ForwardRoute extends RouteBase {
  /** Name of an upstream group to forward to. */
  to: string
  rewrite?: RewriteConfig
  /** Overrides the group's `retry` for this route (`false` = no retries). */
  retry?: RetryConfig | false
  /** Shared HTTP cache (RFC 9111) for this route: `true` for the defaults, or options. Default off. */
  cache?: boolean | RouteCacheConfig
}

export interface RedirectConfig {
  /** Target: a path or absolute URL, may use route params: `'/new/:splat'`, `'https://example.com/:id'`. */
  to: string
  /** 301, 302 (default), 303, 307 or 308. */
  status?: 301 | 302 | 303 | 307 | 308
  /** Append the request's query string. Default true. */
  preserveQuery?: boolean
}

export interface RedirectRoute extends RouteBase {
  redirect: RedirectConfig | string
}

export interface RespondConfig {
  /** Default 200. */
  status?: number
  /** A string, bytes, or any other value sent as JSON. */
  body?: string | Uint8Array | Record<string, unknown> | unknown[]
  headers?: Record<string, string>
}

export interface RespondRoute extends RouteBase {
  respond: RespondConfig
}

export interface HandlerContext {
  /** Named segments and `splat` from the route's path pattern. */
  readonly params: Readonly<Record<string, string>>
  /** The client's address: the connected peer, or the client trusted proxies name (see `trustProxy`). */
  readonly clientIp: string
  /** The connected peer's address (the nearest proxy, when behind one). */
  readonly peerIp: string
  /** The route's name. */
  readonly route: string
  /** Log lines about this request through the proxy's log (with route, method, target, request id). */
  readonly log: RequestLog
  /** Add fields to this request's access-log record (`ctx.annotate({ user: 'ada' })`). */
  annotate(fields: Record<string, unknown>): void
  /**
   * Forward a request to an upstream group and return its response (streamed).
   * With no `init`, forwards the incoming request as is (the handler must not have read its body).
   */
  forward(group: string, init?: Request | ForwardInit): Promise<Response>
}

export interface ForwardInit {
  method?: string
  /** Path and query sent upstream. Default: the incoming request's. */
  path?: string
  headers?: Headers | Record<string, string> | Array<[string, string]>
  body?: ForwardBody | null
}

/** What `ctx.forward` accepts as a body. */
export type ForwardBody = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | Blob | URLSearchParams | FormData

export type Handler = (request: Request, ctx: HandlerContext) => Response | Promise<Response>

export interface HandleRoute extends RouteBase {
  handle: Handler
  /** Longest a handler may take before the client gets 504. Default `'30s'`. */
  handlerTimeout?: Duration
}

export type RouteConfig = ForwardRoute | RedirectRoute | RespondRoute | HandleRoute

export interface ForwardedHeadersConfig {
  /** Append the client address to `X-Forwarded-For` and set `X-Forwarded-Proto`/`-Host`. Default true. */
  xForwarded?: boolean
  /** Also add an RFC 7239 `Forwarded` element. Default false. */
  forwarded?: boolean
}

/** Trusted proxies: one entry, a list of addresses / CIDRs / names, or a number of hops. */
export type TrustProxyConfig = string | string[] | number

export interface ServerOptions {
  /** How long shutdown waits for in-flight requests before closing them. Default `'10s'`. */
  drainTimeout?: Duration
  /** Client must send complete request headers within this. Default `'30s'`. */
  headersTimeout?: Duration
  /** Idle keep-alive client connections close after this. Default `'5s'`. */
  keepAliveTimeout?: Duration
  /** Largest request head accepted (431 beyond). Default `'16kb'`. */
  maxHeaderSize?: Size
  /**
   * Longest the proxy waits for the next piece of a request body while it is reading one (nginx's
   * `client_body_timeout`). Exceeded → `408` if no response has started, else the connection is
   * closed. Default `'60s'`; `0` turns it off.
   */
  bodyIdleTimeout?: Duration
  /**
   * Most client connections a listener keeps open at once (nginx's `worker_connections`,
   * HAProxy's `maxconn`); one more is closed as soon as it is accepted, and the refusals are
   * logged (at most once a second). Bounds memory: an idle connection costs about 8 KiB, one
   * whose client stops reading a large response up to about 200 KiB. Default: no limit.
   */
  maxConnections?: number
  /**
   * Serve requests without a body — HTTP/1.1, keep-alive, no `Expect`, no upgrade, any route —
   * on Switchyard's own HTTP/1.1 front (llhttp, as node:http uses) instead of node:http's request
   * and response objects: about a fifth less CPU per small request. A connection goes to
   * node:http at its first request that is anything else. Default `true`; `false` sends every
   * request through node:http.
   */
  fastFront?: boolean
}

export interface LogConfig {
  /** `'pretty'` (default under `dev`) or `'json'` (one object per line). */
  format?: 'pretty' | 'json'
  /** One line per request. Default true. */
  access?: boolean
}

export interface SwitchyardConfig {
  /** Where to accept clients: one listener or several. Default `{ host: '127.0.0.1', port: 8080 }`. */
  listen?: ListenConfig | number | Array<ListenConfig | number>
  /** Named groups of servers that routes forward to. */
  upstreams?: Record<string, UpstreamConfig>
  /** Tried in order; the first that matches handles the request. None matching → 404. */
  routes: RouteConfig[]
  forwardedHeaders?: ForwardedHeadersConfig
  /**
   * Proxies in front of Switchyard whose `X-Forwarded-For`, `-Proto` and `-Host` are believed:
   * addresses and CIDRs (`'10.0.0.0/8'`, `'2001:db8::/32'`, `'192.0.2.7'`) and the names
   * `'loopback'`, `'private'`, `'linklocal'`, `'uniquelocal'` — or a number `n` to trust the `n`
   * nearest hops whatever their address. When the connected peer is trusted, the client address
   * (`ctx.clientIp`, ip-hash, rate limits, ipFilter, the access log) is the first untrusted hop of
   * X-Forwarded-For walked from the right, `ctx.url` takes its scheme from X-Forwarded-Proto and
   * its host from X-Forwarded-Host, and those are passed upstream. Default: nobody (client-sent
   * X-Forwarded-* are never believed).
   */
  trustProxy?: TrustProxyConfig
  server?: ServerOptions
  log?: LogConfig
  /** Middleware for every route, in order (request phases in this order, response phases in reverse). */
  use?: Middleware[]
  /** Hooks for every route, after the global `use`. */
  hooks?: Hooks
  /** Where cached responses live and how much room they get (routes opt in with `cache`). */
  cache?: CacheConfig
  /** Admin API (cache purge, health) on a listener of its own. Default off. */
  admin?: AdminConfig
}

export type ConfigExport =
  | SwitchyardConfig
  | Promise<SwitchyardConfig>
  | ((env: ConfigEnv) => SwitchyardConfig | Promise<SwitchyardConfig>)

/** What a route's `cache.key` function sees of the request (HEAD is looked up as `'GET'`). */
export interface CacheKeyRequest {
  /** `'GET'` for GET and HEAD (a HEAD is answered from the stored GET). */
  readonly method: string
  readonly scheme: 'http' | 'https'
  /** The Host header as received (never X-Forwarded-Host): `'example.com:8080'`. */
  readonly host: string
  /** Canonical path (the one routing saw), starting with `/`. */
  readonly path: string
  /** Query without `?`; `''` when none. */
  readonly query: string
  /** Route params from the path pattern. */
  readonly params: Readonly<Record<string, string>>
  /** A request header (name lowercase), first value, or undefined. */
  header(name: string): string | undefined
}

export interface RouteCacheConfig {
  /** Lifetime for responses without s-maxage, max-age or Expires (replaces heuristics). Default none. */
  ttl?: Duration
  /**
   * Primary cache key. Default: method + scheme + Host header + port + canonical path + query.
   * Purge by key uses the string this returns; invalidation after POST/PUT/DELETE only finds
   * default keys.
   */
  key?: (req: CacheKeyRequest) => string
  /** Which store: `'memory'` or `'redis'` (needs `cache.store: { type: 'redis', … }`). Default: the global `cache.store`. */
  store?: 'memory' | 'redis'
  /** Largest body stored; larger responses pass through unstored. Default: global `cache.maxObjectSize`. */
  maxObjectSize?: Size
  /** Methods answered from the cache: `'GET'` and/or `'HEAD'`. Default `['GET', 'HEAD']`. */
  methods?: Array<'GET' | 'HEAD'>
  /** Serve a stale response this long past its freshness while refreshing it in the background (RFC 5861). Default none. */
  staleWhileRevalidate?: Duration
  /** Serve a stale response this long past its freshness when the upstream fails or answers 5xx (RFC 5861). Default none. */
  staleIfError?: Duration
  /** Ignore the client's `Cache-Control: no-cache` / `max-age` / `Pragma: no-cache`. Default false. */
  ignoreNoCache?: boolean
  /** Store responses carrying `Set-Cookie` (and replay the cookie to everyone). Default false. */
  allowSetCookie?: boolean
  /** Purge tags added to every response stored by this route. Default none. */
  tags?: string[]
}

export interface RedisCacheStoreConfig {
  type: 'redis'
  /** `redis://[user:password@]host:port[/db]`. */
  url: string
  /** Key namespace. Default `'switchyard:cache:'`. */
  prefix?: string
}

export interface CacheConfig {
  /** Default store for caching routes: `'memory'` (per process) or Redis (shared). Default `'memory'`. */
  store?: 'memory' | RedisCacheStoreConfig
  /** Memory store size (bodies + headers), LRU-evicted. Default `'256mb'`. */
  maxSize?: Size
  /** Largest body stored by default. Default `'8mb'`. */
  maxObjectSize?: Size
  /** Longest a request waits for an identical request already on its way upstream before going itself. Default `'5s'`. */
  lockTimeout?: Duration
}

export interface AdminConfig {
  /** Where the admin API listens: a port or `{ port, host }` (host default `'127.0.0.1'`). */
  listen: ListenConfig | number
  /** Require `Authorization: Bearer <token>`. Default none (keep the listener on loopback). */
  token?: string
}

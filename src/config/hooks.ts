/**
 * Lifecycle hooks (ARCHITECTURE.md "Request lifecycle"): the phases a config can hook, their
 * context, and middleware (a named set of hooks). Every phase is optional; a route without
 * hooks pays nothing for them — Web Request/Response objects are only built when a hook asks.
 *
 * Order: global `use` entries, then global `hooks`, then the route's `use`, then its `hooks`.
 * Request-direction phases (onRequest, selectUpstream, onUpstreamRequest) run in that order;
 * response-direction phases (onUpstreamResponse, onResponse) run in reverse, like layers of an
 * onion: the first middleware listed sees the request first and the response last (so
 * `use: [compression(), rewriteHtml()]` compresses the rewritten HTML).
 */

/** Times in ms from `performance.now()`; a phase that has not happened yet is undefined. */
export interface RequestTimings {
  /** Request head received. */
  readonly start: number
  /** Upstream request sent (last attempt). */
  upstreamStart?: number
  /** Upstream response head received. */
  upstreamHeaders?: number
  /** Response finished or aborted. */
  end?: number
}

/**
 * A logger bound to one request: records go through the proxy's log (same pretty/JSON format)
 * and carry `route`, `method`, `target` and — when the `requestId` middleware set one —
 * `requestId`, plus the fields given.
 */
export interface RequestLog {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export interface HookContext {
  /** The matched route's name. */
  readonly route: string
  /** Path params of the route, percent-decoded. */
  readonly params: Readonly<Record<string, string>>
  /**
   * The client's address: the connected peer, or — with the `trustProxy` config option and a
   * trusted peer — the first untrusted address of X-Forwarded-For (walked from the right).
   */
  readonly clientIp: string
  /** The connected peer's address (the nearest proxy, when behind one). */
  readonly peerIp: string
  readonly method: string
  /**
   * The request URL: canonical path + query; host from the Host header, scheme `http:` — or,
   * from a peer trusted by `trustProxy`, the scheme of X-Forwarded-Proto and the host of
   * X-Forwarded-Host.
   */
  readonly url: URL
  /** Request headers as received (mutable: changes are sent upstream). Built on first use. */
  readonly headers: Headers
  /**
   * The request as a Web Request (built on first use). Reading its body consumes it: a hook
   * that does so must give the upstream a body itself (`onUpstreamRequest`) or answer early.
   */
  readonly request: Request
  /** Per-request scratch space shared by every hook of this request. */
  readonly state: Record<string, unknown>
  readonly timings: RequestTimings
  /** The upstream group and server, once chosen. */
  readonly upstream: { readonly group: string; readonly server: string | undefined } | undefined
  /** Replace the path sent upstream (re-canonicalized; the query is kept unless the path has one). */
  rewrite(pathAndQuery: string): void
  /**
   * Send a request to a server of `group` (balanced) and resolve with its response, body
   * streamed — for sub-requests (auth checks) and copies (mirroring). Not the request's own
   * forwarding: that is the route's job.
   */
  forward(group: string, init: { method?: string; path?: string; headers?: Headers | Record<string, string>; body?: ReadableStream<Uint8Array> | string | Uint8Array | null }): Promise<Response>
  /** Give this request a total deadline from now: past it the client gets 504 (or an aborted response). */
  setDeadline(ms: number): void
  /**
   * Refuse a request body longer than `bytes`, counted as it arrives (whoever reads it: the
   * upstream, a handler, a hook): past it the client gets 413 — or, if its response had
   * begun, the connection is closed. Several limits: the smallest wins. No effect on requests
   * without a body.
   */
  setBodyLimit(bytes: number): void
  /** Log lines about this request, through the proxy's log (built on first use). */
  readonly log: RequestLog
  /**
   * Add fields to this request's access-log record (`user`, `tenant`, …): they appear in the
   * access log line and in `record.annotations` for `onLog`. Later values replace earlier ones.
   */
  annotate(fields: Record<string, unknown>): void
}

/** The request about to be sent upstream; every field may be changed in place. */
export interface UpstreamRequestInfo {
  method: string
  /** Path and query, origin-form. */
  path: string
  headers: Headers
  /**
   * Replacement body; undefined (the default) streams the client's body as received. Setting it
   * (e.g. `ctx.request.body.pipeThrough(counter)`) removes Content-Length: the body is sent chunked.
   */
  body?: ReadableStream<Uint8Array> | null
}

/** The upstream's response head before it is cached or sent on; fields may be changed in place. */
export interface UpstreamResponseInfo {
  status: number
  headers: Headers
  /**
   * Set false to keep this response out of the cache (routes with `cache`): it is passed on to
   * the client and stored nowhere — not stored, no stored entry refreshed by a 304, nothing
   * deleted. Without a veto, the status and headers as the hooks leave them are what is stored.
   */
  cacheable: boolean
}

/** What `onError` may answer: a response for the client, or nothing for the default 502/504. */
export type ErrorAnswer = Response | undefined | void

export interface ProxyError {
  /** 502, 503 or 504 as the proxy would answer; 500 for a handler that threw. */
  readonly status: number
  /** Why, as logged. */
  readonly reason: string
  readonly cause: unknown
}

export interface LogRecord {
  method: string
  target: string
  status: number
  route: string | undefined
  upstream: string | undefined
  durationMs: number
  bytes: number
  clientIp: string
  error: string | undefined
  /** Tunnels (status 101, e.g. WebSockets) only: bytes received from the client (`bytes`: sent to it). */
  bytesIn?: number
  /** What hooks and handlers added with `ctx.annotate()`; absent when nothing was. */
  annotations?: Readonly<Record<string, unknown>>
}

type Awaitable<T> = T | Promise<T>

export interface Hooks {
  /** After routing. Return a Response to answer now (auth, rate limit, redirect): no upstream, no cache. */
  onRequest?(ctx: HookContext): Awaitable<Response | undefined | void>
  /** Forwarding routes, before balancing: name a group (or `{ group, server }`) to override the route's. */
  selectUpstream?(ctx: HookContext): Awaitable<string | { group: string; server?: string } | undefined | void>
  /**
   * Before the request goes upstream (each attempt): change method, path or headers. On a route
   * with `cache`: whenever the cache goes upstream (miss, revalidation with its validators in
   * `request.headers`, pass-through, and background stale-while-revalidate refreshes), never on a hit.
   */
  onUpstreamRequest?(ctx: HookContext, request: UpstreamRequestInfo): Awaitable<void>
  /**
   * When the upstream's response head arrives, before the cache sees it: change status/headers
   * (on a route with `cache`, what the cache stores), veto caching. Never on a cache hit.
   */
  onUpstreamResponse?(ctx: HookContext, response: UpstreamResponseInfo): Awaitable<void>
  /**
   * Before the client gets any response — forwarded, cached, early, handler or error. Return a new
   * Response to replace it (e.g. `new Response(res.body.pipeThrough(transform), res)` to transform
   * the body as a stream), or nothing to keep it. On a route with `cache`: hits and misses alike,
   * `Cache-Status` visible; it changes what this client gets, never what is stored.
   */
  onResponse?(ctx: HookContext, response: Response): Awaitable<Response | undefined | void>
  /** On an upstream or handler error before anything reached the client: answer, or fall through. */
  onError?(ctx: HookContext, error: ProxyError): Awaitable<ErrorAnswer>
  /** Once, when the request is over. Observe only; errors here are logged and ignored. */
  onLog?(ctx: HookContext, record: LogRecord): void
}

/** A named, reusable set of hooks: `use: [cors(), basicAuth({ ... })]`. */
export interface Middleware extends Hooks {
  readonly name: string
  /**
   * Release what the middleware holds (connections, timers). Called once when the config that
   * created it is retired — after a reload, once no request still uses the old config — and on
   * shutdown. Errors are logged, never fatal. A middleware object still used by the current
   * config (the same object reused across reloads) is not closed.
   */
  close?(): void | Promise<void>
}

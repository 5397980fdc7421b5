/**
 * Per-request state: what was asked (canonical target, host, client), what was decided
 * (route, params, upstream server) and what happened (status, bytes, error) for the log.
 * Implements the small request views the router and balancers read, so no other object
 * is built for them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastRequest, FastResponse } from './adapters/node/fast-exchange.js'
import type { ResolvedRoute } from './resolved-config.js'
import type { PickContext } from './balancer/balancer.js'
import type { RoutableRequest } from './router/router.js'
import { NO_PARAMS, type PathParams } from './router/path-pattern.js'
import type { Generation } from './generation.js'
import type { RouteHooks } from './pipeline/route-hooks.js'
import type { RequestHookContext } from './pipeline/hook-context.js'
import type { TraceEvent } from './trace.js'
import type { BodyGuard } from './body-guard.js'
import { resolveForwarded } from './client-address.js'

/**
 * The client's request as the data plane sees it: node:http's, or the fast front's — a
 * FastRequest without a body, or with one a FastBodyRequest, which is an IncomingMessage. Code
 * that reads a body (ctx.hasBody) has an IncomingMessage by then.
 */
export type FrontRequest = IncomingMessage | FastRequest
/** The client's response: node:http's, or the fast front's (the same writeHead/write/end/events subset). */
export type FrontResponse = ServerResponse | FastResponse

export class RequestContext implements PickContext, RoutableRequest {
  readonly startTime = performance.now()
  readonly method: string
  /** The connected peer's address. */
  readonly peerIp: string
  /** The client's address: the peer, or (trustProxy) the first untrusted hop of X-Forwarded-For. */
  readonly clientIp: string
  /** The scheme the client used: 'http', or a trusted proxy's X-Forwarded-Proto. */
  proto: 'http' | 'https' = 'http'
  /** A trusted proxy's X-Forwarded-Host ('' when none). */
  forwardedHost = ''
  /** Pass the client's X-Forwarded-For / Forwarded on (false: trustProxy is set and the peer is not trusted). */
  forwardedChain = true
  /** Host header as received ('' when absent). */
  hostHeader = ''
  /** Lowercase host without port, for routing. */
  host = ''
  path = '/'
  query = ''
  /** The request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody = false
  route: ResolvedRoute | undefined
  params: PathParams = NO_PARAMS
  /** Upstream group the request is forwarded to, once chosen. */
  upstreamGroup: string | undefined
  server: string | undefined
  status = 0
  bytes = 0
  error: string | undefined
  /** Called when the client goes away before the response finished. */
  onClientAbort: (() => void) | undefined
  /** Called when a hook sets a total deadline (performance.now() ms) for this request. */
  onDeadline: ((at: number) => void) | undefined
  /** The route's hooks and their view of this request (hooked routes only). */
  routeHooks: RouteHooks | undefined
  hooks: RequestHookContext | undefined
  /** Decision trace (runtime/trace.ts): undefined unless the Runtime traces (the test kit). */
  trace: TraceEvent[] | undefined = undefined
  /** Fields hooks and handlers added to the access record (`ctx.annotate`). */
  annotations: Record<string, unknown> | undefined = undefined
  /** Watches the request body (idle timeout, size limit); requests with a body only. */
  bodyGuard: BodyGuard | undefined = undefined

  constructor(readonly req: FrontRequest, readonly res: FrontResponse, readonly generation: Generation) {
    this.method = req.method ?? 'GET'
    const ip = req.socket.remoteAddress ?? ''
    this.peerIp = ip.startsWith('::ffff:') ? ip.slice(7) : ip
    const raw = req.rawHeaders
    const trust = generation.config.trustProxy
    if (trust === undefined) this.clientIp = this.peerIp
    else {
      const fwd = resolveForwarded(this.peerIp, raw, trust)
      this.clientIp = fwd.clientIp
      this.proto = fwd.proto
      this.forwardedHost = fwd.host
      this.forwardedChain = fwd.trusted
    }
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!
      if (name.length === 4 && name.toLowerCase() === 'host') this.hostHeader = raw[i + 1]!
      else if (name.length === 14 && name.toLowerCase() === 'content-length') this.hasBody ||= raw[i + 1] !== '0'
      else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') this.hasBody = true
    }
  }

  /**
   * The request's body as a stream: only IncomingMessages have one (node:http's, and the fast
   * front's requests with a body), and a request with a body (ctx.hasBody) is always one.
   */
  get bodyStream(): IncomingMessage {
    return this.req as IncomingMessage
  }

  /** Sets host from the Host header or an absolute-form authority, lowercased, port removed. */
  setHost(authority: string): void {
    const a = authority.toLowerCase()
    if (a.startsWith('[')) {
      const end = a.indexOf(']')
      this.host = end < 0 ? a : a.slice(0, end + 1)
    } else {
      const colon = a.indexOf(':')
      this.host = colon < 0 ? a : a.slice(0, colon)
    }
  }

  header(name: string): string | undefined {
    const raw = this.req.rawHeaders
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i]!.length === name.length && raw[i]!.toLowerCase() === name) return raw[i + 1]
    }
    return undefined
  }

  /** Canonical path plus query, as sent upstream unless a rewrite changes the path. */
  get target(): string {
    return this.query === '' ? this.path : `${this.path}?${this.query}`
  }

  get elapsedMs(): number {
    return performance.now() - this.startTime
  }
}

/**
 * The decision trace: what the data plane decided for one request (route, balancer pick,
 * attempts and retries, cache decision, hooks), for the test kit (`switchyard/testing`).
 *
 * Off by default: `ctx.trace` stays undefined unless the Runtime was built with
 * `{ trace: true }`, so every instrumentation point costs one undefined-check in production.
 * The helpers here run only when tracing is on; keep anything costly in them.
 */
import type { ResolvedRoute } from './resolved-config.js'
import type { PathParams } from './router/path-pattern.js'
import type { UpstreamGroup, GroupMember } from './upstream/upstream-group.js'

/** A route matched: which one and the conditions that made it match. */
export interface RouteTraceEvent {
  type: 'route'
  route: string
  index: number
  /** One entry per condition of the route, as written (e.g. `path /users/:id`, `method GET`). */
  matched: string[]
  params: Record<string, string>
  /** forward (to group) / redirect / respond / handle. */
  action: string
}

export interface NoRouteTraceEvent {
  type: 'no-route'
  method: string
  host: string
  path: string
}

/** A server was chosen for an attempt (or none could be). */
export interface BalancerTraceEvent {
  type: 'balancer'
  group: string
  /** The group's policy: round-robin, least-conn, hash, p2c, custom … */
  policy: string
  /** Every member of the group. */
  servers: string[]
  /** The servers the pick chose among (after health, down, maxConns; excluding tried ones on a retry). */
  candidates: string[]
  chosen: string | undefined
  /** Why this server: `policy`, `sticky cookie`, `selectUpstream`, `retry (excluding …)`, `none available`. */
  reason: string
  /** A side request (`ctx.forward` from a hook, e.g. mirror), not the one that answers the client. */
  side?: true
}

/** One attempt on a server ended (headers arrived, or it failed before). */
export interface AttemptTraceEvent {
  type: 'attempt'
  attempt: number
  server: string
  /** `status 200`, or the failure (`connect-error: connection refused` …). */
  outcome: string
  /** Set when this outcome leads to another attempt: why. */
  retry: string | undefined
  /** A side request's attempt (see BalancerTraceEvent.side). */
  side?: true
}

export interface CacheTraceEvent {
  type: 'cache'
  /** The RFC 9111 decision: fresh, stale, stale-while-revalidate, revalidate, miss, only-if-cached, pass. */
  decision: string
  key: string | undefined
  detail: string | undefined
  /** The Cache-Status header the client got (filled in by the test kit). */
  status?: string
}

export interface HookTraceEvent {
  type: 'hook'
  phase: string
  middleware: string
  /** What the hook did: `answered 401`, `chose group canary`, `replaced the response`, `threw …`, `-` (nothing). */
  result: string
}

export interface ErrorTraceEvent {
  type: 'error'
  message: string
}

/** The request is over (always the last event). */
export interface EndTraceEvent {
  type: 'end'
  status: number
  upstream: string | undefined
  error: string | undefined
  durationMs: number
}

export type TraceEvent =
  | RouteTraceEvent | NoRouteTraceEvent | BalancerTraceEvent | AttemptTraceEvent | CacheTraceEvent
  | HookTraceEvent | ErrorTraceEvent | EndTraceEvent

/** The route event: the conditions are re-described from the route (tracing only). */
export function routeEvent(route: ResolvedRoute, params: PathParams): RouteTraceEvent {
  const m = route.match
  const matched: string[] = []
  if (m.methods) matched.push(`method ${m.methods.join('|')}`)
  if (m.hosts) matched.push(`host ${m.hosts.map((h) => (h.startsWith('.') ? `*${h}` : h)).join('|')}`)
  if (m.headers) matched.push(`headers ${m.headers.map(([name]) => name).join(', ')}`)
  if (m.paths) matched.push(`path ${m.paths.join('|')}`)
  if (matched.length === 0) matched.push('no conditions (matches everything)')
  const a = route.action
  const action = a.type === 'forward' ? `forward to ${a.upstream}` : a.type === 'redirect' ? `redirect ${a.status} ${a.to}` : a.type === 'respond' ? `respond ${a.status}` : 'handle'
  return { type: 'route', route: route.name, index: route.index, matched, params: { ...params }, action }
}

export function policyName(group: UpstreamGroup): string {
  const spec = group.config.balance ?? 'round-robin'
  if (typeof spec === 'string') return spec
  if (typeof spec === 'function') return `custom${spec.name ? ` (${spec.name})` : ''}`
  return spec.policy
}

/** A pick by `group.pick` (first attempt): explains stickiness and the candidates. */
export function balancerEvent(
  group: UpstreamGroup, ctx: Parameters<UpstreamGroup['stickyMember']>[0], chosen: GroupMember | undefined, override: string | undefined,
): BalancerTraceEvent {
  const candidates = group.candidates.map((m) => m.origin)
  let reason: string
  if (chosen === undefined) reason = group.saturated() ? 'every server at maxConns (queued)' : 'none available'
  else if (override !== undefined && chosen.origin === override) reason = 'selectUpstream named this server'
  else if (group.sticky !== undefined && group.stickyMember(ctx) === chosen) reason = `sticky cookie ${group.sticky.cookie}`
  else reason = `policy ${policyName(group)}`
  return { type: 'balancer', group: group.name, policy: policyName(group), servers: group.members.map((m) => m.origin), candidates, chosen: chosen?.origin, reason }
}

/** A pick for a retry: every candidate except those tried. */
export function retryPickEvent(group: UpstreamGroup, chosen: GroupMember, tried: readonly GroupMember[]): BalancerTraceEvent {
  const candidates = group.candidates.filter((m) => !tried.includes(m)).map((m) => m.origin)
  return {
    type: 'balancer', group: group.name, policy: policyName(group), servers: group.members.map((m) => m.origin), candidates,
    chosen: chosen.origin, reason: `retry: policy ${policyName(group)} excluding ${tried.map((m) => m.origin).join(', ')}`,
  }
}

/** One line per event, e.g. `route  #2 "api" (path /api/*) → forward to api`. */
export function formatEvent(e: TraceEvent, label: (server: string) => string = (s) => s): string {
  switch (e.type) {
    case 'route': {
      const params = Object.entries(e.params)
      return `route     #${e.index} ${JSON.stringify(e.route)} matched ${e.matched.join(', ')}` +
        `${params.length > 0 ? ` {${params.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}}` : ''} → ${e.action}`
    }
    case 'no-route':
      return `route     none matched ${e.method} ${e.host || '(no host)'}${e.path} → 404`
    case 'balancer':
      return `balancer  ${e.side ? '(side request) ' : ''}${e.group}: ${e.chosen === undefined ? '(none)' : label(e.chosen)} by ${e.reason.replace(/http:\/\/[^\s,]+/g, label)} [${e.candidates.length}/${e.servers.length} candidates]`
    case 'attempt':
      return `attempt   ${e.side ? '(side request) ' : ''}#${e.attempt} ${label(e.server)} → ${e.outcome}${e.retry !== undefined ? ` → retry (${e.retry})` : ''}`
    case 'cache':
      return `cache     ${e.decision}${e.detail ? ` (${e.detail})` : ''}${e.status !== undefined ? ` → Cache-Status: ${e.status}` : ''}`
    case 'hook':
      return `hook      ${e.phase} ${e.middleware}: ${e.result}`
    case 'error':
      return `error     ${e.message}`
    case 'end':
      return `end       ${e.status}${e.upstream ? ` from ${label(e.upstream)}` : ''}${e.error ? ` (error: ${e.error})` : ''}`
  }
}

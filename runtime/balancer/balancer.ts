import type { ServerState } from '../upstream/server-state.js'

/** One server as a member of one upstream group (the same server may be in several groups). */
export interface UpstreamMember {
  /** Origin, `http://host:port`: the server's stable identity. */
  readonly origin: string
  /** Relative share for weighted policies (≥ 1... or any positive number). */
  readonly weight: number
  /** Position in the group's `servers` list. */
  readonly index: number
  /** Live counters shared across reloads. */
  readonly state: ServerState
}

/** What a policy may look at about the request. Cheap accessors: nothing is parsed unless asked. */
export interface PickContext {
  readonly clientIp: string
  readonly method: string
  /** Canonical path, without the query. */
  readonly path: string
  /** Raw query string without `?` (empty when none). */
  readonly query: string
  /** First value of a request header (name lowercase), or undefined. */
  header(name: string): string | undefined
}

/**
 * A balancing policy. `pick` chooses among health-filtered candidates (health is applied
 * before `pick`, never inside it) and returns undefined only when `candidates` is empty.
 * `update` is called with the group's full membership when it is built or changes,
 * for policies that keep derived state (a hash ring, a smooth-WRR table).
 */
export interface Balancer {
  pick(candidates: readonly UpstreamMember[], ctx: PickContext): UpstreamMember | undefined
  update?(members: readonly UpstreamMember[]): void
}

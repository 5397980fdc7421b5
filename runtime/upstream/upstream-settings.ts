/**
 * Resolved (validated, defaulted, in ms and bytes) settings of issue 3's upstream features.
 * Produced by src/config/resolve-upstreams.ts; part of ResolvedUpstream.
 */

/** Which statuses a probe accepts: a 600-entry table, `ok[status] === 1`. */
export type StatusTable = Uint8Array

export interface ResolvedHealthCheck {
  path: string
  method: string
  interval: number
  timeout: number
  expectStatus: StatusTable
  /** The user's expectStatus as written (for the registry key and messages). */
  expectStatusText: string
  expectBody: string | RegExp | undefined
  headers: Array<[string, string]>
  healthyAfter: number
  unhealthyAfter: number
}

/** Outcome of one attempt, as passive health and retries see it. */
export type OutcomeKind = 'connect-error' | 'timeout' | 'reset'

export interface ResolvedPassive {
  /** 0 = off. */
  maxFails: number
  failTimeout: number
  connectError: boolean
  timeout: boolean
  reset: boolean
  /** Statuses that count as failures (`failOn` numbers). */
  statuses: StatusTable | undefined
}

export interface ResolvedRetry {
  /** Attempts in all (1 = no retries). */
  tries: number
  connectError: boolean
  timeout: boolean
  resetBeforeResponse: boolean
  statuses: StatusTable | undefined
  /** 0 = the pool's response-headers timeout. */
  perTryTimeout: number
  /** 0 = none. */
  totalTimeout: number
  backoff: number
  budget: { ratio: number; minPerSecond: number } | undefined
  retryNonIdempotent: boolean
  maxReplayBody: number
}

export interface ResolvedSticky {
  cookie: string
  /** Seconds; 0 = session cookie. */
  maxAge: number
  httpOnly: boolean
  secure: boolean
  sameSite: 'Strict' | 'Lax' | 'None'
  path: string
}

export interface ResolvedQueue { size: number; timeout: number }

export function statusTable(codes: Iterable<number>): StatusTable {
  const table = new Uint8Array(600)
  for (const c of codes) if (c >= 0 && c < 600) table[c] = 1
  return table
}

/**
 * Config types of issue 3: balancing policies, active and passive health, retries, sticky
 * sessions and the maxConns queue of an upstream group. Re-exported by types.ts (the public
 * surface); kept in a file of their own so types.ts stays readable.
 */
import type { Duration, Size } from './types.js'

/** Policies named by a string (no options). */
export type BalancePolicyName = 'round-robin' | 'random' | 'least-conn' | 'ip-hash' | 'p2c' | 'first'

/** What a balancing function or a hash-key function may read about the request. */
export interface BalanceRequest {
  readonly clientIp: string
  readonly method: string
  /** Canonical path, without the query. */
  readonly path: string
  /** Raw query string without `?` (empty when none). */
  readonly query: string
  /** First value of a request header (name lowercase), or undefined. */
  header(name: string): string | undefined
}

/** A server as a custom balancing function sees it (already health-filtered). */
export interface BalanceCandidate {
  /** `http://host:port`. */
  readonly origin: string
  /** Effective weight (lower while the server is in its slow start). */
  readonly weight: number
  /** Position in the group's `servers` list. */
  readonly index: number
  /** Live counters, shared by every group the server is in. */
  readonly state: { readonly inflight: number; readonly requests: number; readonly failures: number }
}

/**
 * A custom policy: return one of `candidates` (never empty), or undefined for "no
 * preference" (smooth weighted round robin decides).
 */
export type BalanceFunction = <C extends BalanceCandidate>(candidates: readonly C[], ctx: BalanceRequest) => C | undefined

/** `'header:x-user'`, `'cookie:sid'`, `'query:u'`, `'path'`, `'ip'`, or a function returning the key. */
export type HashKeyConfig =
  | `header:${string}` | `cookie:${string}` | `query:${string}` | 'path' | 'ip'
  | ((ctx: BalanceRequest) => string | undefined)

export type BalanceConfig =
  | BalancePolicyName
  /** Consistent hashing (rendezvous) on a request key; keyless requests go round robin. */
  | { policy: 'hash'; key: HashKeyConfig }
  /** Power of two choices on peak-EWMA latency; `decay`: how fast old latency is forgotten. Default `'10s'`. */
  | { policy: 'p2c'; decay?: Duration }
  | BalanceFunction

/**
 * `200`, `'2xx'`, an inclusive range `[200, 399]` (an array of exactly two numbers, the first
 * lower), or a list `[200, 204, 301]` / `['2xx', 404]`.
 */
export type ExpectStatus = number | StatusClass | [from: number, to: number] | Array<number | StatusClass>
export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx'

export interface HealthCheckConfig {
  /** Path (and query) probed. Default `'/'`. */
  path?: string
  /** Default `'GET'`. */
  method?: 'GET' | 'HEAD' | 'OPTIONS' | 'POST'
  /** Time between probes of one server (each one jittered by up to ±10%). Default `'5s'`. */
  interval?: Duration
  /** A probe without a complete answer in this time fails. Default `'2s'`. */
  timeout?: Duration
  /** Statuses that count as healthy. Default `'2xx'` and `'3xx'`. */
  expectStatus?: ExpectStatus
  /** The body must contain this string, or match this RegExp (first 64 KiB). Default: not checked. */
  expectBody?: string | RegExp
  /** Extra request headers (e.g. `{ host: 'internal' }`). */
  headers?: Record<string, string>
  /** Consecutive passing probes that bring an unhealthy server back. Default 2. */
  healthyAfter?: number
  /** Consecutive failing probes that take a server out. Default 3. */
  unhealthyAfter?: number
}

/** What counts as a failure: connection refused/unreachable, a timeout, a reset before the response, or a status. */
export type FailureKind = 'connect-error' | 'timeout' | 'reset' | 500 | 502 | 503 | 504 | (number & {})

export interface PassiveHealthConfig {
  /** Failures within `failTimeout` that take a server out for `failTimeout`. `0` turns passive health off. Default 1 (nginx's max_fails). */
  maxFails?: number
  /** The window for counting failures and how long the server stays out. Default `'10s'` (nginx's fail_timeout). */
  failTimeout?: Duration
  /** Outcomes that count. Default `['connect-error', 'timeout']` (`'reset'`: the connection closed before the response). */
  failOn?: FailureKind[]
}

/** Outcomes an attempt may be retried on. */
export type RetryOn = 'connect-error' | 'timeout' | 'reset-before-response' | 500 | 502 | 503 | 504 | (number & {})

export interface RetryBudgetConfig {
  /** Retries may add at most this share of the requests of the last 10 s. Default 0.2. */
  ratio?: number
  /** …plus this many retries per second whatever the traffic. Default 3. */
  minPerSecond?: number
}

export interface RetryConfig {
  /** Attempts in all, the first included; each retry goes to a server not tried yet. `1` = no retries. Default 2. */
  tries?: number
  /** Default `['connect-error', 'timeout', 'reset-before-response']`. Statuses are opt-in. */
  on?: RetryOn[]
  /** An attempt with no response headers after this is abandoned (and retried). Default: `timeouts.responseHeaders`. */
  perTryTimeout?: Duration
  /** No retry starts later than this after the request arrived. Default none. */
  totalTimeout?: Duration
  /** Pause before each retry (doubled each time, ±50% jitter). Default 0. */
  backoff?: Duration
  budget?: RetryBudgetConfig | false
  /** Also retry methods that are not idempotent (POST, PATCH) after they reached a server. Default false. */
  retryNonIdempotent?: boolean
  /** Request bodies up to this size are buffered so they can be sent again. Default `'64kb'`. */
  maxReplayBody?: Size
}

export interface StickyConfig {
  /** Cookie naming the client's server (an opaque token, never the address). */
  cookie: string
  /** Cookie lifetime (`Max-Age`). Default: a session cookie. */
  ttl?: Duration
  /** Default true. */
  httpOnly?: boolean
  /** Default false. */
  secure?: boolean
  /** Default `'Lax'`. */
  sameSite?: 'Strict' | 'Lax' | 'None'
  /** Cookie `Path`. Default `'/'`. */
  path?: string
}

export interface QueueConfig {
  /** Requests that may wait when every server is at `maxConns`; more get 503. Default 100. */
  size?: number
  /** Longest wait in the queue before 503. Default `'5s'`. */
  timeout?: Duration
}

/**
 * When an attempt may be retried (on another server). Safe by default, like nginx's
 * proxy_next_upstream: never once anything reached the client (the forwarder checks that);
 * a request that never reached a server (connect error) may be retried whatever its method,
 * as long as its body is intact; one that did (timeout, reset, a retryable status) only if
 * its method is idempotent or the route opted in with `retryNonIdempotent`, and only if its
 * body was buffered for replay (no body, or one up to `maxReplayBody`).
 */
import type { RequestContext } from '../context.js'
import type { ResolvedRetry, OutcomeKind } from '../upstream/upstream-settings.js'
import { isIdempotent } from '../upstream-client/exchange.js'

// The upstream client's list (its stale-connection retry), one definition for both.
export { isIdempotent }

/** A failure kind, or the status of a response that may be retried. */
export type AttemptOutcome = OutcomeKind | number

/** What an error before the response headers means for health and retries (undefined: neither). */
export function outcomeKind(err: unknown): OutcomeKind | undefined {
  const e = (err ?? {}) as { code?: unknown; cause?: { code?: unknown } }
  const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : ''
  switch (code) {
    case 'ECONNREFUSED': case 'SWITCHYARD_CONNECT_TIMEOUT': case 'ENOTFOUND': case 'EAI_AGAIN':
    case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EADDRNOTAVAIL':
      return 'connect-error'
    case 'SWITCHYARD_HEADERS_TIMEOUT': case 'SWITCHYARD_TOTAL_TIMEOUT': case 'SWITCHYARD_TRY_TIMEOUT':
      return 'timeout'
    case 'ECONNRESET': case 'SWITCHYARD_UPSTREAM_CLOSED': case 'EPIPE':
      return 'reset'
    default:
      return undefined
  }
}

export function retryAllowed(
  retry: ResolvedRetry, outcome: AttemptOutcome, attempts: number, method: string, bodyReplayable: boolean, elapsedMs: number,
): boolean {
  if (attempts >= retry.tries) return false
  if (retry.totalTimeout > 0 && elapsedMs >= retry.totalTimeout) return false
  if (outcome === 'connect-error') return retry.connectError // never reached the server: any method, body untouched
  if (outcome === 'timeout' ? !retry.timeout : outcome === 'reset' ? !retry.resetBeforeResponse : retry.statuses?.[outcome] !== 1) return false
  // The request reached the server.
  return bodyReplayable && (isIdempotent(method) || retry.retryNonIdempotent)
}

/** ms to wait before retry number `attempts` (1 = the first retry): exponential, ±50% jitter. */
export function retryDelay(retry: ResolvedRetry, attempts: number): number {
  if (retry.backoff <= 0) return 0
  return retry.backoff * 2 ** (attempts - 1) * (0.5 + Math.random())
}

/**
 * The body length when it may be buffered for replay (Content-Length known and ≤ `max`),
 * else -1 (chunked or too large: it streams).
 */
export function replayableLength(ctx: RequestContext, max: number): number {
  const value = ctx.header('content-length')
  if (value === undefined || ctx.header('transfer-encoding') !== undefined) return -1
  const length = Number(value)
  return Number.isInteger(length) && length >= 0 && length <= max ? length : -1
}

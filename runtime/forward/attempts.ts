/**
 * How a request to an upstream group is placed on its servers, for every path that opens an
 * exchange of its own (forwarding, Upgrade tunnels): the first server, the retry policy in
 * force, the bounded wait for a server below maxConns, and the server a retry goes to. What an
 * attempt is and how it ends stays with the caller.
 */
import type { RequestContext } from '../context.js'
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { ResolvedRetry } from '../upstream/upstream-settings.js'
import type { RuntimeLog } from '../log.js'
import { retryAllowed, type AttemptOutcome } from './retry-rules.js'

/** A hook's choice of server (when it names a member of the group), else the balancer's pick. */
export function firstServer(ctx: RequestContext, group: UpstreamGroup, server: string | undefined): GroupMember | undefined {
  return server === undefined ? group.pick(ctx) : group.members.find((m) => m.origin === server) ?? group.pick(ctx)
}

/**
 * The retry policy for this request (the route's, else the group's; none when there is nothing
 * to retry on). A request that may retry counts toward the group's retry budget.
 */
export function retryPolicy(ctx: RequestContext, group: UpstreamGroup): ResolvedRetry | undefined {
  const action = ctx.route!.action
  const retry = (action.type === 'forward' ? action.retry : undefined) ?? group.retry
  if (retry === undefined || retry.tries <= 1 || group.members.length <= 1) return undefined
  if (group.budget !== undefined) group.budget.recordRequest(ctx.startTime)
  return retry
}

/**
 * Every server is at maxConns: waits (at most `queue.timeout`) for one to free a slot, then
 * `run`s; or calls `busy` (the queue is off, full, or the wait ran out). Returns what leaves the
 * queue (the client went away), or undefined when `busy` was called at once.
 */
export function waitForServer(ctx: RequestContext, group: UpstreamGroup, log: RuntimeLog, run: () => void, busy: () => void): (() => void) | undefined {
  let timer: NodeJS.Timeout | undefined
  const waiter = { run, cancel: () => clearTimeout(timer) }
  if (group.queue.timeout <= 0 || !group.enqueue(waiter)) {
    log.warn(`upstream '${group.name}': every server is at maxConns and the queue is full`, { route: ctx.route?.name })
    busy()
    return undefined
  }
  timer = setTimeout(() => {
    group.dequeue(waiter)
    log.warn(`upstream '${group.name}': waited ${group.queue.timeout}ms in the queue for a server below maxConns`, { route: ctx.route?.name })
    busy()
  }, group.queue.timeout)
  return () => {
    group.dequeue(waiter)
    clearTimeout(timer)
  }
}

/**
 * The sticky cookie to set on `member`'s response: when the group is sticky and the request's
 * cookie does not already name that server (none, another one, or a retry moved it).
 */
export function stickyCookieFor(ctx: RequestContext, group: UpstreamGroup, member: GroupMember): string | undefined {
  return group.sticky !== undefined && group.stickyMember(ctx) !== member ? member.stickyCookie : undefined
}

/** What a retry decision needs to know about the attempt that just ended. */
export interface EndedAttempt {
  outcome: AttemptOutcome
  /** Attempts made so far, this one included. */
  attempts: number
  member: GroupMember
  method: string
  /** Whether the request body (if any) can be sent again. */
  bodyReplayable: boolean
}

/**
 * The server to retry on after `ended`, or undefined: the rules say no, no other server is left
 * (`tried` collects the servers already used), or the retry budget is spent (warned about at
 * most once a second).
 */
export function retryServer(
  ctx: RequestContext, group: UpstreamGroup, retry: ResolvedRetry, log: RuntimeLog, ended: EndedAttempt, tried: GroupMember[],
): GroupMember | undefined {
  const now = performance.now()
  if (!retryAllowed(retry, ended.outcome, ended.attempts, ended.method, ended.bodyReplayable, now - ctx.startTime)) return undefined
  tried.push(ended.member)
  const next = group.pickExcluding(ctx, tried)
  if (next === undefined) return undefined
  const budget = group.budget
  if (budget !== undefined && !budget.tryRetry(now)) {
    if (budget.shouldWarn(now)) {
      log.warn(`upstream '${group.name}': retry budget spent, not retrying (logged at most once a second)`, { route: ctx.route?.name })
    }
    return undefined
  }
  return next
}

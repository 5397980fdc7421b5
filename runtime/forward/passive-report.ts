/**
 * What every path that talks to a group's server (forwarding, tunnels, `ctx.forward()`) tells
 * passive health about a failed exchange: counted when the group's `failOn` counts it (a status,
 * or a connect error / timeout / reset), and an ejection is logged once, when it happens.
 */
import type { UpstreamGroup, GroupMember } from '../upstream/upstream-group.js'
import type { OutcomeKind } from '../upstream/upstream-settings.js'
import type { RuntimeLog } from '../log.js'
import { recordPassiveFailure } from '../health/passive.js'

/** `kind` undefined: a failing status (see reportFailingStatus). */
export function reportPassiveFailure(group: UpstreamGroup, member: GroupMember, log: RuntimeLog, reason: string, kind?: OutcomeKind): void {
  const passive = group.passive
  if (passive === undefined) return
  if (kind !== undefined && !(kind === 'connect-error' ? passive.connectError : kind === 'timeout' ? passive.timeout : passive.reset)) return
  if (recordPassiveFailure(member.state, passive, performance.now())) {
    log.warn(
      `server ${member.origin} of upstream '${group.name}': healthy → ejected for ${passive.failTimeout}ms (${reason}; ${passive.maxFails} failure(s) within ${passive.failTimeout}ms)`,
      { upstream: member.origin },
    )
  }
}

/**
 * A response status, counted when the group's `failOn` lists it (any status from 400 to 599 the
 * config accepts; `>= 400` only spares the table lookup for the usual answers).
 */
export function reportFailingStatus(group: UpstreamGroup, member: GroupMember, log: RuntimeLog, status: number): void {
  if (status >= 400 && group.passive?.statuses?.[status] === 1) reportPassiveFailure(group, member, log, `status ${status}`)
}

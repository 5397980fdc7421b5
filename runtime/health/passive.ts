/**
 * Passive health, nginx's max_fails/fail_timeout: `maxFails` failures of real requests within
 * `failTimeout` take a server out for `failTimeout`; afterwards it gets traffic again (and one
 * more failure inside a new window of `maxFails` = 1 takes it out again). What counts as a
 * failure is the group's `failOn`. State lives on ServerState (shared by every group the server
 * is in; when groups disagree on the thresholds, each applies its own on the failures it sees).
 */
import type { ServerState } from '../upstream/server-state.js'
import type { ResolvedPassive } from '../upstream/upstream-settings.js'
import { bumpHealthEpoch } from './health-epoch.js'

/** Records one failure at `now` (performance.now() ms); true when it ejected the server. */
export function recordPassiveFailure(state: ServerState, passive: ResolvedPassive, now: number): boolean {
  if (passive.maxFails <= 0) return false
  if (now >= state.failWindowEnd) {
    state.windowFails = 0
    state.failWindowEnd = now + passive.failTimeout
  }
  state.windowFails++
  if (state.windowFails < passive.maxFails || state.ejectedUntil > now) return false
  state.ejectedUntil = now + passive.failTimeout
  state.ejections++
  state.windowFails = 0
  state.failWindowEnd = 0
  bumpHealthEpoch()
  return true
}

/**
 * The `HealthCheck` seam (ARCHITECTURE.md "Interfaces at the seams"): something that decides,
 * in the background, whether one server is fit for traffic. Groups read `healthy` when they
 * rebuild their candidate list (after `healthEpoch` moved); they never call a check per
 * request. Passive signals (failures of real requests) are not a HealthCheck: the forwarder
 * reports them to ServerState (see passive.ts).
 */
export type HealthTransition = (check: HealthCheck, healthy: boolean, reason: string) => void

export interface HealthCheck {
  /** The server probed. */
  readonly origin: string
  /** Current verdict. A check starts healthy (optimistic, like nginx) and probes at once. */
  readonly healthy: boolean
  /** Why the last probe passed or failed ('' before the first probe). */
  readonly reason: string
  /** Probes completed so far (tests await this instead of sleeping). */
  readonly probes: number
  start(): void
  /** Stops probing for good (timers cleared, connections closed). */
  stop(): Promise<void>
}

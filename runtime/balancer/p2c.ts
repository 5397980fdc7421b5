import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { FastRandom, type RandomSource } from './fast-random.js'

export interface P2cOptions {
  /** Time constant of the latency estimate, ms. Default 10,000 (Finagle's and Linkerd's). */
  decay?: number
  random?: RandomSource
  /** Monotonic clock in ms; must be the clock the forwarder passes to `recordLatency`. */
  now?: () => number
}

export const DEFAULT_P2C_DECAY_MS = 10_000

/**
 * Cost of a busy server that has never answered: above any measured cost, so an unmeasured
 * server gets one request at a time until its first sample (Finagle's penalty), ordered by
 * in-flight count among unmeasured servers (a cold start degrades to least connections).
 */
const UNMEASURED_BUSY_COST = 1e9

/** Floor of the latency estimate, ms: a long-idle estimate decays toward 0, and the
 * `inflight + 1` factor must still count then. */
const MIN_LATENCY_MS = 1e-3

/**
 * Power of two choices on peak-EWMA latency (Finagle's/Linkerd's "P2C + PeakEWMA"): draw two
 * distinct candidates at random and send to the cheaper, cost = latency estimate ×
 * (inflight + 1) / weight. The estimate (ServerState.peakEwma) jumps to a new high at once,
 * so a server that turns slow loses every comparison from its first slow response on; it
 * decays toward 0 while the server is idle, so an avoided server is eventually re-probed.
 * A server never measured costs 0 while idle: new servers are tried at once, not starved.
 * O(1) per pick; needs the forwarder to report latencies (see ServerState.recordLatency).
 */
export class P2cBalancer implements Balancer {
  readonly #decay: number
  readonly #random: RandomSource
  readonly #now: () => number

  constructor(options: P2cOptions = {}) {
    this.#decay = options.decay ?? DEFAULT_P2C_DECAY_MS
    this.#random = options.random ?? new FastRandom()
    this.#now = options.now ?? (() => performance.now())
  }

  update(members: readonly UpstreamMember[]): void {
    for (const m of members) m.state.latencyDecayMs = this.#decay
  }

  pick(candidates: readonly UpstreamMember[], _ctx: PickContext): UpstreamMember | undefined {
    const n = candidates.length
    if (n <= 1) return candidates[0]
    const i = Math.floor(this.#random.next() * n)
    let j = Math.floor(this.#random.next() * (n - 1))
    if (j >= i) j++ // distinct from i, uniform over the others
    const a = candidates[i]!
    const b = candidates[j]!
    const now = this.#now()
    return cost(b, now) < cost(a, now) ? b : a
  }
}

function cost(m: UpstreamMember, now: number): number {
  const state = m.state
  if (state.latencySamples === 0) return (UNMEASURED_BUSY_COST * state.inflight) / m.weight
  const latency = Math.max(state.peakEwma(now), MIN_LATENCY_MS)
  return (latency * (state.inflight + 1)) / m.weight
}

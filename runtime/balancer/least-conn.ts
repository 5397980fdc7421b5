import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { FastRandom, type RandomSource } from './fast-random.js'

/**
 * Weighted least connections: the candidate with the fewest in-flight requests per unit of
 * weight (`state.inflight / weight`, compared by cross-multiplying: no division, exact for
 * integers). Ties, common at low load when everything is idle, go to a weighted random
 * choice among the tied candidates (one-pass weighted reservoir sampling), so idle traffic
 * still follows the weights, like nginx's least_conn, which breaks ties by weighted RR.
 *
 * O(n) per pick: in-flight counts change outside the balancer (the forwarder updates
 * ServerState), so no heap could stay ordered. For large groups prefer p2c, which samples two.
 */
export class LeastConnBalancer implements Balancer {
  readonly #random: RandomSource

  constructor(random: RandomSource = new FastRandom()) {
    this.#random = random
  }

  pick(candidates: readonly UpstreamMember[], _ctx: PickContext): UpstreamMember | undefined {
    const n = candidates.length
    if (n <= 1) return candidates[0]
    let best = candidates[0]!
    let tiedWeight = best.weight
    for (let i = 1; i < n; i++) {
      const m = candidates[i]!
      const order = m.state.inflight * best.weight - best.state.inflight * m.weight
      if (order < 0) {
        best = m
        tiedWeight = m.weight
      } else if (order === 0) {
        tiedWeight += m.weight
        if (this.#random.next() * tiedWeight < m.weight) best = m
      }
    }
    return best
  }
}

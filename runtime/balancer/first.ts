import type { Balancer, PickContext, UpstreamMember } from './balancer.js'

/**
 * The healthy candidate listed first in `servers` (lowest `index`): primary/standby. All
 * traffic goes to the primary; when health filtering removes it, to the next one listed.
 * O(1) when the primary is a candidate and first in the list, O(n) otherwise.
 */
export class FirstBalancer implements Balancer {
  pick(candidates: readonly UpstreamMember[], _ctx: PickContext): UpstreamMember | undefined {
    let best = candidates[0]
    if (best === undefined || best.index === 0) return best
    for (let i = 1; i < candidates.length; i++) {
      const m = candidates[i]!
      if (m.index < best.index) best = m
    }
    return best
  }
}

import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { hasUnequalWeights, indexSpan } from './members.js'

/**
 * Round robin; smooth weighted round robin (nginx's algorithm) when weights differ:
 * each pick adds every candidate's weight to its running score, takes the highest,
 * and subtracts the total from the winner. Weights 5:1:1 give a a b a c a a.
 * Candidates left out by health filtering keep their score untouched, as in nginx.
 *
 * Plain RR is O(1); smooth WRR is O(n) per pick (like nginx), with no allocation:
 * scores live in a Float64Array indexed by `member.index`, so they survive
 * candidate-set changes and fractional weights never box a number.
 */
export class RoundRobinBalancer implements Balancer {
  #next = 0
  /** Decided by `update`; undefined until then, and each pick checks its candidates. */
  #weighted: boolean | undefined
  #scores: Float64Array = new Float64Array(0)

  update(members: readonly UpstreamMember[]): void {
    this.#weighted = hasUnequalWeights(members)
    this.#scores = new Float64Array(indexSpan(members))
  }

  pick(candidates: readonly UpstreamMember[], _ctx: PickContext): UpstreamMember | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (n === 1) return candidates[0]
    if (!(this.#weighted ?? hasUnequalWeights(candidates))) {
      const member = candidates[this.#next % n]!
      this.#next = (this.#next + 1) & 0x3fffffff // stays a small integer
      return member
    }
    return this.#pickSmooth(candidates, n)
  }

  #pickSmooth(candidates: readonly UpstreamMember[], n: number): UpstreamMember {
    let scores = this.#scores
    let total = 0
    let best = candidates[0]!
    let bestScore = -Infinity
    for (let i = 0; i < n; i++) {
      const m = candidates[i]!
      if (m.index >= scores.length) scores = this.#grow(m.index + 1)
      const score = scores[m.index]! + m.weight
      scores[m.index] = score
      total += m.weight
      if (score > bestScore) {
        bestScore = score
        best = m
      }
    }
    scores[best.index] = bestScore - total
    return best
  }

  /** Only when `update` was skipped or was given fewer members than are picked from. */
  #grow(size: number): Float64Array {
    const scores = new Float64Array(Math.max(size, this.#scores.length * 2))
    scores.set(this.#scores)
    this.#scores = scores
    return scores
  }
}

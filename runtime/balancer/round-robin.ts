import type { Balancer, UpstreamMember } from './balancer.js'

/**
 * Round robin; smooth weighted round robin (nginx's algorithm) when weights differ:
 * each pick adds every candidate's weight to its running score, takes the highest,
 * and subtracts the total from the winner. Weights 5:1:1 give a a b a c a a.
 */
export class RoundRobinBalancer implements Balancer {
  #next = 0
  #weighted = false
  /** Running scores of smooth WRR, keyed by origin so they survive candidate-set changes. */
  readonly #current = new Map<string, number>()

  update(members: readonly UpstreamMember[]): void {
    this.#weighted = members.some((m) => m.weight !== members[0]!.weight)
    this.#current.clear()
  }

  pick(candidates: readonly UpstreamMember[]): UpstreamMember | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    if (n === 1) return candidates[0]
    if (!this.#weighted) {
      const member = candidates[this.#next % n]!
      this.#next = (this.#next + 1) % 0x3fffffff
      return member
    }
    let total = 0
    let best: UpstreamMember | undefined
    let bestScore = -Infinity
    for (let i = 0; i < n; i++) {
      const m = candidates[i]!
      const score = (this.#current.get(m.origin) ?? 0) + m.weight
      this.#current.set(m.origin, score)
      total += m.weight
      if (score > bestScore) {
        bestScore = score
        best = m
      }
    }
    this.#current.set(best!.origin, bestScore - total)
    return best
  }
}

import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { FastRandom, type RandomSource } from './fast-random.js'
import { hasUnequalWeights } from './members.js'

/** Bounded so a skewed subset cannot loop long; the exact scan after it keeps the odds exact. */
const MAX_REJECTION_TRIES = 16

/**
 * Random; weighted random when weights differ.
 * - Full membership (the usual case: every server healthy): cumulative weights built in
 *   `update` + binary search, O(log n).
 * - A health-filtered subset: rejection sampling against the members' largest weight (pick a
 *   candidate uniformly, keep it with probability weight/maxWeight), O(maxWeight/meanWeight)
 *   expected tries, exact odds, and no per-subset table to build or cache; after 16 misses
 *   an O(n) cumulative scan over the candidates.
 * Equal weights: one random index, O(1), any subset.
 */
export class RandomBalancer implements Balancer {
  readonly #random: RandomSource
  /** Undefined until `update`: then every pick does the exact O(n) scan. */
  #weighted: boolean | undefined
  #members: readonly UpstreamMember[] = []
  /** cumulative[i] = sum of the weights of members[0..i]. */
  #cumulative = new Float64Array(0)
  #maxWeight = 0

  constructor(random: RandomSource = new FastRandom()) {
    this.#random = random
  }

  update(members: readonly UpstreamMember[]): void {
    this.#weighted = hasUnequalWeights(members)
    this.#members = members.slice()
    this.#cumulative = new Float64Array(members.length)
    let sum = 0
    let max = 0
    for (let i = 0; i < members.length; i++) {
      const weight = members[i]!.weight
      sum += weight
      this.#cumulative[i] = sum
      if (weight > max) max = weight
    }
    this.#maxWeight = max
  }

  pick(candidates: readonly UpstreamMember[], _ctx: PickContext): UpstreamMember | undefined {
    const n = candidates.length
    if (n <= 1) return candidates[0]
    if (this.#weighted === false) return candidates[Math.floor(this.#random.next() * n)]
    if (this.#weighted === undefined) return this.#scan(candidates, n)
    if (n === this.#members.length) {
      // Same size as the membership: the same servers, normally in the same order.
      const i = this.#search(this.#random.next() * this.#cumulative[n - 1]!)
      const member = this.#members[i]!
      if (candidates[i] === member) return member
    }
    const maxWeight = this.#maxWeight
    for (let tries = 0; tries < MAX_REJECTION_TRIES; tries++) {
      const member = candidates[Math.floor(this.#random.next() * n)]!
      if (this.#random.next() * maxWeight < member.weight) return member
    }
    return this.#scan(candidates, n)
  }

  /** Index of the first cumulative weight above `target`. */
  #search(target: number): number {
    const cumulative = this.#cumulative
    let low = 0
    let high = cumulative.length - 1
    while (low < high) {
      const mid = (low + high) >>> 1
      if (cumulative[mid]! > target) high = mid
      else low = mid + 1
    }
    return low
  }

  #scan(candidates: readonly UpstreamMember[], n: number): UpstreamMember {
    let total = 0
    for (let i = 0; i < n; i++) total += candidates[i]!.weight
    let target = this.#random.next() * total
    for (let i = 0; i < n; i++) {
      target -= candidates[i]!.weight
      if (target < 0) return candidates[i]!
    }
    return candidates[n - 1]! // rounding left a sliver of `target`
  }
}

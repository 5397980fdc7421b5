import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { UpstreamMember } from '../../runtime/balancer/balancer.js'
import { fnv1a, premixKey, scoreHash, toUnitInterval } from '../../runtime/balancer/hash-key.js'
import { Rendezvous } from '../../runtime/balancer/rendezvous.js'
import { makeMember, makeMembers } from './fixtures.js'

/** Weighted HRW by its definition: the highest -weight / ln(u), every candidate scored. */
function bruteForce(candidates: readonly UpstreamMember[], key: number): UpstreamMember {
  let best = candidates[0]!
  let bestScore = -Infinity
  for (const m of candidates) {
    const score = -m.weight / Math.log(toUnitInterval(scoreHash(premixKey(key), fnv1a(m.origin))))
    if (score > bestScore) {
      bestScore = score
      best = m
    }
  }
  return best
}

describe('Rendezvous', () => {
  const members = makeMembers(7, [1, 2.5, 3, 0.7, 10, 1, 4])
  const keys = Array.from({ length: 5_000 }, (_, i) => (i * 2654435761) >>> 2)

  it('gives exactly the weighted HRW choice (the log-skipping bound changes nothing)', () => {
    const rendezvous = new Rendezvous()
    rendezvous.update(members)
    for (const key of keys) assert.equal(rendezvous.pick(members, key), bruteForce(members, key))
  })

  it('matches it on subsets, reordered candidates and members update never saw', () => {
    const rendezvous = new Rendezvous()
    rendezvous.update(members)
    const subset = [members[6]!, members[1]!, members[4]!, makeMember(9, 2)]
    for (const key of keys) assert.equal(rendezvous.pick(subset, key), bruteForce(subset, key))
    const fresh = new Rendezvous() // never updated
    for (const key of keys.slice(0, 500)) assert.equal(fresh.pick(members, key), bruteForce(members, key))
  })

  it('uses the same order without weights as with equal weights', () => {
    const equal = makeMembers(9)
    const rendezvous = new Rendezvous()
    rendezvous.update(equal)
    for (const key of keys) assert.equal(rendezvous.pick(equal, key), bruteForce(equal, key))
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RandomBalancer } from '../../runtime/balancer/random.js'
import type { UpstreamMember } from '../../runtime/balancer/balancer.js'
import { binomialTolerance, makeCtx, makeMembers, seededRandom, tally } from './fixtures.js'

const PICKS = 20_000
const ctx = makeCtx()

function assertShares(balancer: RandomBalancer, candidates: readonly UpstreamMember[]): void {
  const total = candidates.reduce((sum, m) => sum + m.weight, 0)
  const counts = tally(Array.from({ length: PICKS }, () => balancer.pick(candidates, ctx)))
  for (const m of candidates) {
    const p = m.weight / total
    const count = counts.get(m.origin) ?? 0
    assert.ok(Math.abs(count - PICKS * p) <= binomialTolerance(PICKS, p), `${m.origin}: ${count} of ${PICKS}, expected share ${p}`)
  }
  assert.equal([...counts.values()].reduce((a, b) => a + b), PICKS)
}

describe('RandomBalancer', () => {
  it('is uniform over equal weights', () => {
    const members = makeMembers(4)
    const balancer = new RandomBalancer(seededRandom(11))
    balancer.update(members)
    assertShares(balancer, members)
  })

  it('follows weights 5:1:1 (cumulative table, full membership)', () => {
    const members = makeMembers(3, [5, 1, 1])
    const balancer = new RandomBalancer(seededRandom(12))
    balancer.update(members)
    assertShares(balancer, members)
  })

  it('follows weights on a health-filtered subset (rejection sampling)', () => {
    const members = makeMembers(5, [5, 1, 1, 3, 0.5])
    const balancer = new RandomBalancer(seededRandom(13))
    balancer.update(members)
    assertShares(balancer, [members[0]!, members[2]!, members[3]!, members[4]!])
    assertShares(balancer, [members[1]!, members[4]!]) // far below maxWeight: exercises the exact scan
  })

  it('follows weights without update (exact scan) and unseeded', () => {
    const members = makeMembers(3, [1, 2, 7])
    assertShares(new RandomBalancer(seededRandom(14)), members)
    const unseeded = new RandomBalancer()
    unseeded.update(members)
    assertShares(unseeded, members) // tolerance holds with probability > 1 - 1e-9
  })
})

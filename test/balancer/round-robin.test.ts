import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RoundRobinBalancer } from '../../runtime/balancer/round-robin.js'
import { makeCtx, makeMembers } from './fixtures.js'

const ctx = makeCtx()
const letters = 'abcdefgh'

function sequence(balancer: RoundRobinBalancer, candidates: ReturnType<typeof makeMembers>, count: number): string {
  let out = ''
  for (let i = 0; i < count; i++) out += letters[balancer.pick(candidates, ctx)!.index]
  return out
}

describe('RoundRobinBalancer', () => {
  it('cycles through equal-weight servers in order', () => {
    const members = makeMembers(3)
    const balancer = new RoundRobinBalancer()
    balancer.update(members)
    assert.equal(sequence(balancer, members, 9), 'abcabcabc')
  })

  it('gives nginx smooth WRR sequence a a b a c a a for weights 5:1:1, repeated', () => {
    const members = makeMembers(3, [5, 1, 1])
    const balancer = new RoundRobinBalancer()
    balancer.update(members)
    assert.equal(sequence(balancer, members, 21), 'aabacaa'.repeat(3))
  })

  it('uses smooth WRR even when update was never called', () => {
    const members = makeMembers(3, [5, 1, 1])
    assert.equal(sequence(new RoundRobinBalancer(), members, 14), 'aabacaa'.repeat(2))
  })

  it('handles fractional weights exactly in proportion', () => {
    const members = makeMembers(2, [0.5, 1.5])
    const balancer = new RoundRobinBalancer()
    balancer.update(members)
    const out = sequence(balancer, members, 400)
    assert.equal([...out].filter((c) => c === 'b').length, 300)
  })

  it('spreads over a health-filtered subset by the subset weights', () => {
    const members = makeMembers(4, [5, 1, 1, 2])
    const balancer = new RoundRobinBalancer()
    balancer.update(members)
    const subset = [members[1]!, members[3]!] // weights 1:2
    assert.equal(sequence(balancer, subset, 6), 'dbddbd')
  })

  it('keeps scores across candidate changes: a returning server resumes its turn', () => {
    const members = makeMembers(3, [5, 1, 1])
    const balancer = new RoundRobinBalancer()
    balancer.update(members)
    sequence(balancer, members, 3)
    sequence(balancer, [members[0]!, members[1]!], 5)
    const out = sequence(balancer, members, 700)
    const counts = [...'abc'].map((l) => [...out].filter((c) => c === l).length)
    assert.ok(Math.abs(counts[0]! - 500) <= 5 && Math.abs(counts[1]! - 100) <= 5, String(counts))
  })
})

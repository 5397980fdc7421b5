import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LeastConnBalancer } from '../../runtime/balancer/least-conn.js'
import { binomialTolerance, makeCtx, makeMembers, seededRandom, tally } from './fixtures.js'

const ctx = makeCtx()

describe('LeastConnBalancer', () => {
  it('picks the fewest in-flight requests', () => {
    const members = makeMembers(3)
    const inflight = [5, 1, 3]
    members.forEach((m, i) => (m.state.inflight = inflight[i]!))
    assert.equal(new LeastConnBalancer(seededRandom(1)).pick(members, ctx), members[1])
  })

  it('compares in-flight per unit of weight', () => {
    const members = makeMembers(3, [10, 1, 2])
    const inflight = [5, 1, 2] // 0.5, 1, 1
    members.forEach((m, i) => (m.state.inflight = inflight[i]!))
    assert.equal(new LeastConnBalancer(seededRandom(2)).pick(members, ctx), members[0])
  })

  it('breaks ties fairly, not always the first', () => {
    const members = makeMembers(4)
    members[0]!.state.inflight = 1
    const balancer = new LeastConnBalancer(seededRandom(3))
    const picks = 30_000
    const counts = tally(Array.from({ length: picks }, () => balancer.pick(members, ctx)))
    assert.equal(counts.get(members[0]!.origin), undefined)
    for (const m of members.slice(1)) {
      const count = counts.get(m.origin) ?? 0
      assert.ok(Math.abs(count - picks / 3) <= binomialTolerance(picks, 1 / 3), `${m.origin}: ${count}`)
    }
  })

  it('breaks ties in proportion to weight (idle servers follow weights)', () => {
    const members = makeMembers(2, [3, 1])
    const balancer = new LeastConnBalancer(seededRandom(4))
    const picks = 20_000
    const count = tally(Array.from({ length: picks }, () => balancer.pick(members, ctx))).get(members[0]!.origin) ?? 0
    assert.ok(Math.abs(count - picks * 0.75) <= binomialTolerance(picks, 0.75), String(count))
  })

  it('keeps load level when requests are held open', () => {
    const members = makeMembers(3, [2, 1, 1])
    const balancer = new LeastConnBalancer(seededRandom(5))
    for (let i = 0; i < 400; i++) balancer.pick(members, ctx)!.state.inflight++
    assert.deepEqual(members.map((m) => m.state.inflight), [200, 100, 100])
  })
})

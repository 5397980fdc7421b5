import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CustomBalancer, InvalidPickError } from '../../runtime/balancer/custom.js'
import type { UpstreamMember } from '../../runtime/balancer/balancer.js'
import { makeCtx, makeMember, makeMembers } from './fixtures.js'

const ctx = makeCtx({ headers: { 'x-pin': '2' } })

describe('CustomBalancer', () => {
  it('uses a valid choice and passes candidates and context', () => {
    const members = makeMembers(3)
    const balancer = new CustomBalancer((candidates, c) => candidates.find((m) => String(m.index) === c.header('x-pin')))
    assert.equal(balancer.pick(members, ctx), members[2])
  })

  it('maps a copy of a candidate to the candidate itself', () => {
    const members = makeMembers(3)
    const balancer = new CustomBalancer((candidates) => ({ ...candidates[1]! }))
    assert.equal(balancer.pick(members, ctx), members[1])
  })

  it('falls back to round robin on invalid returns and reports only the first', () => {
    const members = makeMembers(3)
    const reports: InvalidPickError[] = []
    const unhealthy = makeMember(7)
    const balancer = new CustomBalancer(() => unhealthy, { onInvalidPick: (e) => reports.push(e) })
    balancer.update(members)
    const picks = Array.from({ length: 6 }, () => balancer.pick(members, ctx)!.index)
    assert.deepEqual(picks, [0, 1, 2, 0, 1, 2])
    assert.equal(reports.length, 1)
    assert.ok(reports[0] instanceof InvalidPickError)
    assert.equal(reports[0]!.returned, unhealthy)
    assert.match(reports[0]!.message, /returned server http:\/\/s7:80, which is not one of the candidates/)
  })

  it('reports junk of any type', () => {
    for (const junk of [null, 'http://s0:80', 42, {}]) {
      const reports: InvalidPickError[] = []
      const balancer = new CustomBalancer(() => junk as unknown as UpstreamMember, { onInvalidPick: (e) => reports.push(e) })
      assert.ok(balancer.pick(makeMembers(2), ctx))
      assert.equal(reports.length, 1)
    }
  })

  it('treats undefined as "no preference": round robin, not reported', () => {
    const reports: InvalidPickError[] = []
    const members = makeMembers(2)
    const balancer = new CustomBalancer(() => undefined, { onInvalidPick: (e) => reports.push(e) })
    assert.deepEqual([0, 1, 2].map(() => balancer.pick(members, ctx)!.index), [0, 1, 0])
    assert.equal(reports.length, 0)
  })

  it('is not called without candidates, and lets a throw propagate', () => {
    let calls = 0
    const balancer = new CustomBalancer(() => {
      calls++
      throw new Error('user bug')
    })
    assert.equal(balancer.pick([], ctx), undefined)
    assert.equal(calls, 0)
    assert.throws(() => balancer.pick(makeMembers(2), ctx), /user bug/)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FirstBalancer } from '../../runtime/balancer/first.js'
import { makeCtx, makeMembers } from './fixtures.js'

describe('FirstBalancer', () => {
  const members = makeMembers(4)
  const ctx = makeCtx()

  it('always picks the lowest index (the primary)', () => {
    const balancer = new FirstBalancer()
    for (let i = 0; i < 5; i++) assert.equal(balancer.pick(members, ctx), members[0])
  })

  it('picks the next listed server when the primary is filtered out, whatever the order', () => {
    const balancer = new FirstBalancer()
    assert.equal(balancer.pick([members[3]!, members[2]!, members[1]!], ctx), members[1])
    assert.equal(balancer.pick([members[3]!, members[2]!], ctx), members[2])
  })
})

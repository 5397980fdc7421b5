import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Balancer, PickContext } from '../../runtime/balancer/balancer.js'
import { makeCtx, makeMembers } from './fixtures.js'

/** Requests of every shape a policy may meet, including ones missing whatever it keys on. */
const CONTEXTS: readonly PickContext[] = [
  makeCtx(),
  makeCtx({ clientIp: '10.1.2.3', path: '/a', query: 'user=7&x', headers: { 'x-user': 'u7', cookie: 'sid=abc; user=7' } }),
  makeCtx({ clientIp: '2001:db8::1', path: '/b/c', query: '=&&user', headers: { cookie: ';;=' } }),
  makeCtx({ clientIp: '::ffff:192.168.0.9', headers: { 'x-user': '' } }),
  makeCtx({ clientIp: 'not an address', path: '', query: 'user=' }),
]

/**
 * The contract every Balancer must keep (balancer.ts), run against each policy by
 * conformance.test.ts. `factory` returns a fresh balancer each call.
 */
export function balancerConformance(name: string, factory: () => Balancer): void {
  describe(`Balancer conformance: ${name}`, () => {
    it('returns one of the candidates', () => {
      for (const weights of [[1, 1, 1], [5, 1, 1], [0.5, 2.5, 1, 1]]) {
        const members = makeMembers(weights.length, weights)
        const balancer = factory()
        balancer.update?.(members)
        for (let round = 0; round < 50; round++) {
          for (const ctx of CONTEXTS) assert.ok(members.includes(balancer.pick(members, ctx)!))
        }
      }
    })

    it('returns undefined for no candidates, before and after update', () => {
      const balancer = factory()
      assert.equal(balancer.pick([], makeCtx()), undefined)
      balancer.update?.(makeMembers(3))
      for (const ctx of CONTEXTS) assert.equal(balancer.pick([], ctx), undefined)
    })

    it('picks only from a subset after update with the full membership', () => {
      const members = makeMembers(6, [3, 1, 2, 1, 5, 1])
      const balancer = factory()
      balancer.update?.(members)
      for (const subset of [[members[1]!, members[4]!], [members[5]!, members[0]!, members[2]!], members.slice(3)]) {
        for (let round = 0; round < 50; round++) {
          for (const ctx of CONTEXTS) assert.ok(subset.includes(balancer.pick(subset, ctx)!))
        }
      }
    })

    it('always chooses a single candidate', () => {
      const members = makeMembers(4)
      const balancer = factory()
      balancer.update?.(members)
      for (const member of members) {
        for (const ctx of CONTEXTS) assert.equal(balancer.pick([member], ctx), member)
      }
    })

    it('works when update was never called', () => {
      const members = makeMembers(3, [2, 1, 1])
      const balancer = factory()
      for (let round = 0; round < 20; round++) {
        for (const ctx of CONTEXTS) assert.ok(members.includes(balancer.pick(members, ctx)!))
      }
    })

    it('keeps working after update with a different membership', () => {
      const balancer = factory()
      balancer.update?.(makeMembers(8))
      const members = makeMembers(3, [1, 4, 1])
      balancer.update?.(members)
      for (const ctx of CONTEXTS) assert.ok(members.includes(balancer.pick(members, ctx)!))
    })

    it('never throws on requests without headers, query, cookies or address', () => {
      const members = makeMembers(3)
      const balancer = factory()
      balancer.update?.(members)
      const bare: PickContext = { clientIp: '', method: 'GET', path: '/', query: '', header: () => undefined }
      assert.doesNotThrow(() => balancer.pick(members, bare))
      assert.ok(members.includes(balancer.pick(members, bare)!))
    })
  })
}

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clientAddressHash, IpHashBalancer } from '../../runtime/balancer/ip-hash.js'
import { keyHash } from '../../runtime/balancer/hash-key.js'
import { makeCtx, makeMembers } from './fixtures.js'

const ipCtx = (clientIp: string) => makeCtx({ clientIp })

describe('IpHashBalancer', () => {
  it('keys IPv4 by its /24, IPv4-mapped IPv6 likewise, IPv6 by the whole address', () => {
    assert.equal(clientAddressHash('10.0.1.5'), keyHash('10.0.1'))
    assert.equal(clientAddressHash('10.0.1.200'), keyHash('10.0.1'))
    assert.equal(clientAddressHash('::ffff:10.0.1.7'), keyHash('10.0.1'))
    assert.equal(clientAddressHash('2001:db8::1'), keyHash('2001:db8::1'))
    assert.equal(clientAddressHash('::1'), keyHash('::1'))
    assert.equal(clientAddressHash(''), -1)
  })

  it('sends a whole /24 to one server and spreads different /24s', () => {
    const members = makeMembers(5)
    const balancer = new IpHashBalancer()
    balancer.update(members)
    const seen = new Set<string>()
    for (let net = 0; net < 50; net++) {
      const server = balancer.pick(members, ipCtx(`192.168.${net}.1`))!
      for (const host of [2, 77, 254]) assert.equal(balancer.pick(members, ipCtx(`192.168.${net}.${host}`)), server)
      assert.equal(balancer.pick(members, ipCtx(`::ffff:192.168.${net}.9`)), server)
      seen.add(server.origin)
    }
    assert.equal(seen.size, 5)
  })

  it('spreads IPv6 clients of one prefix (whole address is the key)', () => {
    const members = makeMembers(5)
    const balancer = new IpHashBalancer()
    balancer.update(members)
    const seen = new Set(Array.from({ length: 50 }, (_, i) => balancer.pick(members, ipCtx(`2001:db8::${i.toString(16)}`))!.origin))
    assert.equal(seen.size, 5)
  })

  it('remaps only the removed server share of networks', () => {
    const members = makeMembers(10)
    const balancer = new IpHashBalancer()
    balancer.update(members)
    const nets = Array.from({ length: 5_000 }, (_, i) => ipCtx(`${10 + (i >> 8)}.${i & 255}.3.4`))
    const before = nets.map((ctx) => balancer.pick(members, ctx)!.origin)
    const rest = members.slice(1)
    const after = nets.map((ctx) => balancer.pick(rest, ctx)!.origin)
    const moved = before.filter((origin, i) => origin !== after[i])
    assert.ok(moved.length / nets.length <= 1.3 / 10, `moved ${moved.length}`)
    assert.ok(moved.every((origin) => origin === members[0]!.origin))
  })

  it('falls back to round robin without an address', () => {
    const members = makeMembers(3)
    const balancer = new IpHashBalancer()
    balancer.update(members)
    assert.deepEqual([0, 1, 2, 3].map(() => balancer.pick(members, ipCtx(''))!.index), [0, 1, 2, 0])
  })
})

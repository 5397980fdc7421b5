import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { UpstreamMember } from '../../runtime/balancer/balancer.js'
import { HashBalancer } from '../../runtime/balancer/hash.js'
import { hashPairValue, NO_KEY } from '../../runtime/balancer/request-key.js'
import { keyHash } from '../../runtime/balancer/hash-key.js'
import { binomialTolerance, makeCtx, makeMember, makeMembers, tally } from './fixtures.js'

const KEYS = 10_000
const keyCtx = (key: string) => makeCtx({ headers: { 'x-user': key } })
const contexts = Array.from({ length: KEYS }, (_, i) => keyCtx(`user-${i}`))

function assignment(balancer: HashBalancer, candidates: readonly UpstreamMember[]): string[] {
  return contexts.map((ctx) => balancer.pick(candidates, ctx)!.origin)
}

describe('HashBalancer', () => {
  it('sends the same key to the same server', () => {
    const members = makeMembers(5)
    const balancer = new HashBalancer('header:x-user')
    balancer.update(members)
    for (const ctx of contexts.slice(0, 200)) {
      const first = balancer.pick(members, ctx)
      for (let i = 0; i < 3; i++) assert.equal(balancer.pick(members, ctx), first)
    }
  })

  it('does not depend on the order of servers in the list', () => {
    const members = makeMembers(6)
    const reordered = [...members].reverse().map((m, index) => ({ ...m, index }))
    const a = new HashBalancer('header:x-user')
    const b = new HashBalancer('header:x-user')
    a.update(members)
    b.update(reordered)
    assert.deepEqual(assignment(a, members), assignment(b, reordered))
  })

  it('spreads 10,000 keys evenly over 10 servers', () => {
    const members = makeMembers(10)
    const balancer = new HashBalancer('header:x-user')
    balancer.update(members)
    const counts = tally(contexts.map((ctx) => balancer.pick(members, ctx)))
    for (const m of members) {
      const count = counts.get(m.origin) ?? 0
      assert.ok(Math.abs(count - KEYS / 10) <= binomialTolerance(KEYS, 0.1), `${m.origin}: ${count}`)
    }
  })

  it('spreads keys by weight', () => {
    const members = makeMembers(3, [1, 2, 5])
    const balancer = new HashBalancer('header:x-user')
    balancer.update(members)
    const counts = tally(contexts.map((ctx) => balancer.pick(members, ctx)))
    members.forEach((m) => {
      const p = m.weight / 8
      const count = counts.get(m.origin) ?? 0
      assert.ok(Math.abs(count - KEYS * p) <= binomialTolerance(KEYS, p), `${m.origin}: ${count}`)
    })
  })

  it('remaps only the removed server keys (≤ 1.3/N) when one of 10 goes', () => {
    const members = makeMembers(10)
    const balancer = new HashBalancer('header:x-user')
    balancer.update(members)
    const before = assignment(balancer, members)
    const removed = members[3]!
    const rest = members.filter((m) => m !== removed)
    for (const update of [false, true]) {
      // Without update: health filtering; with update: a config change.
      if (update) balancer.update(rest)
      const after = assignment(balancer, rest)
      const moved = before.filter((origin, i) => origin !== after[i])
      assert.ok(moved.length / KEYS <= 1.3 / 10, `moved ${moved.length}`)
      assert.ok(moved.every((origin) => origin === removed.origin), 'only keys of the removed server move')
    }
  })

  it('moves ≤ 1.3/N of keys, all to the new server, when an 11th is added', () => {
    const members = makeMembers(10)
    const balancer = new HashBalancer('header:x-user')
    balancer.update(members)
    const before = assignment(balancer, members)
    const grown = [...members, makeMember(10)]
    balancer.update(grown)
    const after = assignment(balancer, grown)
    const moved = after.filter((origin, i) => origin !== before[i])
    assert.ok(moved.length / KEYS <= 1.3 / 11, `moved ${moved.length}`)
    assert.ok(moved.length / KEYS >= 0.7 / 11, `moved ${moved.length}`)
    assert.ok(moved.every((origin) => origin === 'http://s10:80'))
  })

  it('reads each key form', () => {
    const members = makeMembers(8)
    const cases: Array<[string, (v: string) => ReturnType<typeof makeCtx>]> = [
      ['header:X-Tenant', (v) => makeCtx({ headers: { 'x-tenant': v } })],
      ['cookie:sid', (v) => makeCtx({ headers: { cookie: `theme=dark; sid=${v}; x=1` } })],
      ['query:user', (v) => makeCtx({ query: `a=1&user=${v}&b` })],
      ['path', (v) => makeCtx({ path: `/files/${v}` })],
      ['ip', (v) => makeCtx({ clientIp: `10.0.${v.slice(1)}.7` })],
    ]
    for (const [key, ctxFor] of cases) {
      const balancer = new HashBalancer(key)
      balancer.update(members)
      const seen = new Set<string>()
      for (let i = 0; i < 64; i++) {
        const value = `v${i}`
        const picked = balancer.pick(members, ctxFor(value))!
        assert.equal(balancer.pick(members, ctxFor(value)), picked, key)
        seen.add(picked.origin)
      }
      assert.ok(seen.size >= 4, `${key} should spread keys, saw ${seen.size} servers`)
    }
  })

  it('accepts a key function, and treats undefined/empty as no key', () => {
    const members = makeMembers(4)
    const balancer = new HashBalancer((ctx) => ctx.header('x-user'))
    balancer.update(members)
    const picked = balancer.pick(members, keyCtx('alice'))
    for (let i = 0; i < 5; i++) assert.equal(balancer.pick(members, keyCtx('alice')), picked)
    const keyless = tally(Array.from({ length: 8 }, () => balancer.pick(members, makeCtx())))
    assert.equal(keyless.size, 4)
  })

  it('falls back to round robin for requests without the key', () => {
    const members = makeMembers(3)
    const balancer = new HashBalancer('cookie:sid')
    balancer.update(members)
    const picks = [
      makeCtx(),
      makeCtx({ headers: { cookie: 'other=1' } }),
      makeCtx({ headers: { cookie: 'sid=' } }),
      makeCtx({ headers: { cookie: 'xsid=1; sidx=2' } }),
      makeCtx(),
      makeCtx(),
    ].map((ctx) => balancer.pick(members, ctx)!.index)
    assert.deepEqual(picks, [0, 1, 2, 0, 1, 2])
  })
})

describe('hashPairValue', () => {
  const value = (list: string, name: string, sep: ';' | '&') => hashPairValue(list, name, sep)
  it('finds exactly the named pair', () => {
    assert.equal(value('a=1; sid=xyz; b=2', 'sid', ';'), keyHash('xyz'))
    assert.equal(value('sid=xyz', 'sid', ';'), keyHash('xyz'))
    assert.equal(value('sid="xyz" ', 'sid', ';'), keyHash('xyz'))
    assert.equal(value('mysid=1;sid=2', 'sid', ';'), keyHash('2'))
    assert.equal(value('u=1&user=bob&user=eve', 'user', '&'), keyHash('bob'))
    assert.equal(value('user', 'user', '&'), NO_KEY)
    assert.equal(value('user=', 'user', '&'), NO_KEY)
    assert.equal(value('', 'user', '&'), NO_KEY)
    assert.equal(value('usera=1', 'user', '&'), NO_KEY)
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { UpstreamMember } from '../../runtime/balancer/balancer.js'
import { P2cBalancer } from '../../runtime/balancer/p2c.js'
import { makeCtx, makeMember, makeMembers, seededRandom } from './fixtures.js'

const ctx = makeCtx()

/** A fake monotonic clock (ms) shared by the balancer and the simulated forwarder. */
function clock() {
  let now = 0
  return { now: () => now, advance: (ms: number) => (now += ms) }
}

/** Forwarder stand-in: responses arrive instantly after `latency(member)` ms of simulated wait. */
function serveInstantly(balancer: P2cBalancer, members: readonly UpstreamMember[], t: ReturnType<typeof clock>, latency: (m: UpstreamMember) => number): UpstreamMember {
  t.advance(1)
  const m = balancer.pick(members, ctx)!
  m.state.recordLatency(latency(m), t.now())
  return m
}

describe('P2cBalancer', () => {
  it('steers away from a server within a few requests of its latency jumping', () => {
    const t = clock()
    const members = makeMembers(3)
    const balancer = new P2cBalancer({ random: seededRandom(21), now: t.now })
    balancer.update(members)
    let slow = false
    const latency = (m: UpstreamMember) => (m.index === 1 && slow ? 500 : 10)
    for (let i = 0; i < 300; i++) serveInstantly(balancer, members, t, latency)
    assert.ok(members[1]!.state.latencySamples > 50, 'b took its share while fast')
    slow = true
    let picksOfB = 0
    for (let i = 0; i < 500; i++) if (serveInstantly(balancer, members, t, latency) === members[1]) picksOfB++
    assert.ok(picksOfB <= 1, `b picked ${picksOfB} times after turning slow`)
  })

  it('counts in-flight requests: a slow server stays lightly used while its requests hang', () => {
    const t = clock()
    const members = makeMembers(3)
    const balancer = new P2cBalancer({ random: seededRandom(22), now: t.now })
    const pending: Array<{ at: number; m: UpstreamMember; sent: number }> = []
    const counts = [0, 0, 0]
    for (let ms = 0; ms < 3_000; ms++) {
      t.advance(1)
      for (let k = pending.length - 1; k >= 0; k--) {
        const p = pending[k]!
        if (p.at > t.now()) continue
        p.m.state.recordLatency(t.now() - p.sent, t.now())
        p.m.state.inflight--
        pending.splice(k, 1)
      }
      const m = balancer.pick(members, ctx)!
      m.state.inflight++
      if (ms >= 1_000) counts[m.index]!++
      pending.push({ at: t.now() + (m.index === 2 ? 400 : 5), m, sent: t.now() })
    }
    assert.ok(counts[2]! < 0.02 * 2_000, `slow server got ${counts[2]} of 2000`)
  })

  it('tries a new, never measured server at once, but one request at a time', () => {
    const t = clock()
    const members = makeMembers(3)
    for (const m of members) m.state.recordLatency(10, 0)
    const fresh = makeMember(3)
    const all = [...members, fresh]
    const balancer = new P2cBalancer({ random: seededRandom(23), now: t.now })
    balancer.update(all)
    let firstPick = -1
    for (let i = 0; i < 20 && firstPick < 0; i++) if (balancer.pick(all, ctx) === fresh) firstPick = i
    assert.ok(firstPick >= 0 && firstPick < 20, 'new server tried')
    fresh.state.inflight = 1 // its first request is still out
    for (let i = 0; i < 200; i++) assert.notEqual(balancer.pick(all, ctx), fresh)
  })

  it('re-probes an avoided server once its estimate has decayed', () => {
    const t = clock()
    const members = makeMembers(2)
    const balancer = new P2cBalancer({ random: seededRandom(24), now: t.now, decay: 10_000 })
    balancer.update(members)
    members[0]!.state.recordLatency(10, 0)
    members[1]!.state.recordLatency(1_000, 0)
    for (let i = 0; i < 50; i++) assert.equal(balancer.pick(members, ctx), members[0])
    t.advance(60_000) // 1000·e^-6 ≈ 2.5 ms: now cheaper than the other's fresh 10 ms
    members[0]!.state.recordLatency(10, t.now())
    assert.equal(balancer.pick(members, ctx), members[1])
  })

  it('prefers the heavier of two equally fast servers as load builds', () => {
    const members = makeMembers(2, [3, 1])
    for (const m of members) m.state.recordLatency(10, 0)
    const balancer = new P2cBalancer({ random: seededRandom(25), now: () => 0 })
    for (let i = 0; i < 400; i++) balancer.pick(members, ctx)!.state.inflight++
    assert.ok(Math.abs(members[0]!.state.inflight - 300) <= 2, String(members[0]!.state.inflight))
  })

  it('sets its decay on the members it serves', () => {
    const members = makeMembers(2)
    new P2cBalancer({ decay: 2_000 }).update(members)
    assert.deepEqual(members.map((m) => m.state.latencyDecayMs), [2_000, 2_000])
  })
})

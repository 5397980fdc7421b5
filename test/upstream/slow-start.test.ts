import { test } from 'node:test'
import assert from 'node:assert/strict'
import { UpstreamGroup, type GroupPickContext } from '../../runtime/upstream/upstream-group.js'
import { ServerStateRegistry } from '../../runtime/upstream/server-state.js'
import { PoolRegistry } from '../../runtime/forward/pool-registry.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { recordPassiveFailure } from '../../runtime/health/passive.js'

function ctxAt(startTime: number): GroupPickContext {
  return { startTime, clientIp: '127.0.0.1', method: 'GET', path: '/', query: '', header: () => undefined }
}

test('slowStart: after an ejection ends, the effective weight ramps from 10% to 100%', async (t) => {
  const config = resolveConfig({
    upstreams: { g: { servers: [{ url: 'http://127.0.0.1:1', weight: 10, slowStart: '1s' }, 'http://127.0.0.1:2'], passive: { maxFails: 1, failTimeout: '5s' } } },
    routes: [{ to: 'g' }],
  }, 'start')
  const states = new ServerStateRegistry()
  const pools = new PoolRegistry()
  t.after(() => pools.closeAll(true))
  const group = new UpstreamGroup(config.upstreams.get('g')!, states, pools)
  const [a, b] = group.members
  assert.equal(a!.weight, 10, 'no slow start at startup')
  const t0 = performance.now()
  recordPassiveFailure(a!.state, group.passive!, t0)
  const until = a!.state.ejectedUntil
  assert.equal(group.pick(ctxAt(t0 + 1)), b, 'ejected: only b')
  group.pick(ctxAt(until))
  assert.equal(a!.weight, 1, 'back at 10% of 10')
  group.pick(ctxAt(until + 500))
  // (until + 500) − until is not exactly 500 in floating point for every `until`.
  assert.ok(Math.abs(a!.weight - 5) < 1e-6, `halfway: ${a!.weight}`)
  group.pick(ctxAt(until + 1000))
  assert.ok(Math.abs(a!.weight - 10) < 1e-6, `at the end: ${a!.weight}`)
})

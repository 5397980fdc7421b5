import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/weighted-canary: 1 in 10 requests reaches the canary; x-canary: 1 forces it', async (t) => {
  const stable = mockUpstream(undefined, { name: 'stable' })
  const canary = mockUpstream(undefined, { name: 'canary' })
  const proxy = await createTestProxy(exampleConfig('weighted-canary'), { upstreams: { app: [stable, canary], canary } })
  t.after(() => proxy.close())
  const counts: Record<string, number> = {}
  for (let i = 0; i < 20; i++) {
    const res = await proxy.request('/')
    assert.equal(res.headers.get('x-release'), 'weighted')
    counts[res.trace.servedBy!] = (counts[res.trace.servedBy!] ?? 0) + 1
  }
  assert.deepEqual(counts, { stable: 18, canary: 2 }, 'weights 9:1 (smooth weighted round robin)')
  const forced = await proxy.request('/', { headers: { 'x-canary': '1' } })
  assert.equal(forced.trace.route?.route, 'forced-canary')
  assert.deepEqual(forced.trace.route?.matched, ['headers x-canary'])
  assert.equal(forced.trace.servedBy, 'canary')
})

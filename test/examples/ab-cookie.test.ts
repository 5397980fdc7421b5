import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/ab-cookie: new visitors are assigned a variant and keep it through the cookie', async (t) => {
  const a = mockUpstream(undefined, { name: 'a' })
  const b = mockUpstream(undefined, { name: 'b' })
  const proxy = await createTestProxy(exampleConfig('ab-cookie'), { upstreams: { a, b } })
  t.after(() => proxy.close())
  const assigned = new Set<string>()
  for (let i = 0; i < 40; i++) {
    const res = await proxy.request('/')
    const cookie = res.headers.get('set-cookie') ?? ''
    const variant = /^ab=(a|b);/.exec(cookie)?.[1]
    assert.ok(variant, `a new visitor gets the ab cookie (got '${cookie}')`)
    assert.equal(res.trace.servedBy, variant, 'and is served by that variant')
    assert.deepEqual(res.trace.hooksIn('selectUpstream'), [`trafficSplit: chose group ${variant}`])
    assigned.add(variant)
  }
  assert.deepEqual([...assigned].sort(), ['a', 'b'], 'both variants get visitors')
  for (const variant of ['a', 'b']) {
    for (let i = 0; i < 5; i++) {
      const res = await proxy.request('/page', { headers: { cookie: `theme=dark; ab=${variant}` } })
      assert.equal(res.trace.servedBy, variant)
      assert.equal(res.headers.get('set-cookie'), null, 'no new cookie for a returning visitor')
    }
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream, type ReceivedRequest } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/mirroring: reads are copied to the shadow, whose answer is ignored', async (t) => {
  const primary = mockUpstream(() => Response.json({ from: 'primary' }), { name: 'primary' })
  const copies: Array<(r: ReceivedRequest) => void> = []
  const shadow = mockUpstream(() => {
    queueMicrotask(() => copies.shift()?.(shadow.lastRequest!))
    return new Response('shadow is broken', { status: 500 })
  }, { name: 'shadow' })
  const nextCopy = () => new Promise<ReceivedRequest>((resolve) => copies.push(resolve))
  const proxy = await createTestProxy(exampleConfig('mirroring'), { upstreams: { primary, shadow } })
  t.after(() => proxy.close())

  let copied = nextCopy()
  const res = await proxy.request('/api/items?page=2', { headers: { 'x-request-id': 'r1' } })
  assert.deepEqual(res.json(), { from: 'primary' })
  assert.equal(res.trace.servedBy, 'primary')
  assert.equal(res.trace.balancer?.group, 'primary')
  assert.deepEqual(res.trace.sideRequests.filter((e) => e.type === 'balancer').map((e) => e.type === 'balancer' && e.group), ['shadow'])
  const copy = await copied
  assert.equal(copy.path, '/api/items?page=2')
  assert.equal(copy.headers.get('x-request-id'), 'r1')

  // Writes are not copied: the POST's copy never comes, the next GET's does.
  assert.equal((await proxy.request('/api/items', { json: { a: 1 } })).status, 200)
  copied = nextCopy()
  await proxy.request('/api/items/1')
  assert.equal((await copied).path, '/api/items/1')
  assert.deepEqual(shadow.requests.map((r) => r.method), ['GET', 'GET'])
  assert.equal(primary.requests.length, 3)
})

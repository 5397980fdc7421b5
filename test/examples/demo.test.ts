// The root demo config (proxy.config.ts, what `npm start` runs) tested with the kit, through the
// package's own `switchyard/testing` export — the test the README shows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from 'switchyard/testing'

const config = new URL('../../proxy.config.ts', import.meta.url)

test('demo config: web round robin, weighted api with stripPrefix, a handler calling api', async (t) => {
  const web = [mockUpstream(undefined, { name: 'web-1' }), mockUpstream(undefined, { name: 'web-2' })]
  const api = [mockUpstream(undefined, { name: 'api-a' }), mockUpstream(undefined, { name: 'api-b' })]
  const proxy = await createTestProxy(config, { upstreams: { web, api } })
  t.after(() => proxy.close())

  const page = await proxy.request('/about')
  assert.equal(page.status, 200)
  assert.equal(page.trace.route?.route, 'routes[5]')
  assert.equal(page.trace.servedBy, 'web-1')
  assert.equal((await proxy.request('/about')).trace.servedBy, 'web-2')

  // api: servers [a, { b, weight: 2 }] → b gets 2 of every 3.
  const served = []
  for (let i = 0; i < 3; i++) {
    const res = await proxy.request('/api/orders?limit=5')
    assert.equal(res.headers.get('x-served-by'), 'switchyard')
    assert.equal(res.json<{ path: string }>().path, '/orders?limit=5')
    served.push(res.trace.servedBy)
  }
  assert.deepEqual(served.sort(), ['api-a', 'api-b', 'api-b'])

  const user = await proxy.request('/users/7')
  assert.equal(user.headers.get('x-user-id'), '7')
  assert.deepEqual(user.trace.route?.params, { id: '7' })
  assert.equal(user.trace.balancer?.group, 'api', 'ctx.forward from the handler is traced too')

  const old = await proxy.request('/old/page')
  assert.deepEqual([old.status, old.headers.get('location')], [301, '/new/page'])
  assert.deepEqual(old.trace.route?.matched, ['path /old/*'])
  assert.deepEqual((await proxy.request('/hello/ada', { clientIp: '203.0.113.9' })).json(), { hello: 'ada', from: '203.0.113.9', mode: 'start' })
})

test('demo config with its own in-process backends (no overrides)', async (t) => {
  const proxy = await createTestProxy(config, { mode: 'dev' })
  t.after(() => proxy.close())
  const backends = new Set<string>()
  for (let i = 0; i < 3; i++) backends.add((await proxy.request('/')).json<{ backend: string }>().backend)
  assert.deepEqual([...backends].sort(), ['backend-a', 'backend-b', 'backend-c'])
  assert.equal((await proxy.request('/health')).text(), 'ok')
})

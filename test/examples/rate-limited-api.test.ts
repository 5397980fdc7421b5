import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig, setEnv } from './helpers.js'

test('examples/rate-limited-api: a budget per API key (else per address), 429 beyond, before the upstream', async (t) => {
  setEnv(t, { RATE_LIMIT: '3' })
  const api = mockUpstream()
  const proxy = await createTestProxy(exampleConfig('rate-limited-api'), { upstreams: { api } })
  t.after(() => proxy.close())
  const key = { 'x-api-key': 'k1', origin: 'https://app.example' }
  for (const remaining of ['2', '1', '0']) {
    const res = await proxy.request('/v1/search?q=x', { headers: key })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('ratelimit-remaining'), remaining)
    assert.equal(res.headers.get('ratelimit-limit'), '3')
  }
  const limited = await proxy.request('/v1/search?q=x', { headers: key })
  assert.equal(limited.status, 429)
  assert.ok(Number(limited.headers.get('retry-after')) >= 1)
  assert.equal(limited.headers.get('access-control-allow-origin'), '*', 'CORS on the 429 too, so the browser can read it')
  assert.deepEqual(limited.trace.hooksIn('onRequest'), ['cors: -', 'rateLimit: answered 429'])
  assert.equal(limited.trace.balancer, undefined)
  assert.equal(api.requests.length, 3)

  assert.equal((await proxy.request('/v1/search', { headers: { 'x-api-key': 'k2' } })).status, 200, 'another key, another budget')
  // Without a key: per client address.
  for (let i = 0; i < 3; i++) assert.equal((await proxy.request('/v1/x', { clientIp: '198.51.100.7' })).status, 200)
  assert.equal((await proxy.request('/v1/x', { clientIp: '198.51.100.7' })).status, 429)
  assert.equal((await proxy.request('/v1/x', { clientIp: '198.51.100.8' })).status, 200)
  assert.equal((await proxy.request('/status')).status, 200, 'not limited')
})

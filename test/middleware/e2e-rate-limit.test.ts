// rateLimit through real proxies: memory store with an injected clock; Redis store shared by two
// proxies, and failing open when Redis is killed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startProxy, http } from '../helpers/servers.js'
import { rateLimit, redisRateLimitStore } from '../../src/middleware/index.js'
import { startRedis } from '../cache/redis-server.js'

test('rateLimit (memory): 429 + Retry-After, RateLimit-* on every response, reset after the window', async (t) => {
  const backend = await echoBackend('api')
  let now = 5_000_000
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/bucket/*' }, to: 'api', use: [rateLimit({ limit: 2, window: '10s', now: () => now })] },
      { match: { path: '/window/*' }, to: 'api', use: [rateLimit({ limit: 2, window: '10s', algorithm: 'sliding-window', key: 'header:x-key', now: () => now })] },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const a = await http(`${proxy.url}/bucket/x`)
  assert.equal(a.status, 200)
  assert.deepEqual([a.headers['ratelimit-limit'], a.headers['ratelimit-remaining'], a.headers['ratelimit-reset'], a.headers['ratelimit-policy']], ['2', '1', '5', '2;w=10'])
  assert.equal((await http(`${proxy.url}/bucket/x`)).headers['ratelimit-remaining'], '0')
  const limited = await http(`${proxy.url}/bucket/x`)
  assert.equal(limited.status, 429)
  assert.equal(limited.headers['retry-after'], '5')
  assert.equal(limited.headers['ratelimit-remaining'], '0')
  assert.equal(limited.headers['x-backend'], undefined)
  now += 10_000
  assert.equal((await http(`${proxy.url}/bucket/x`)).status, 200)

  const key = { 'x-key': 'k1' }
  assert.equal((await http(`${proxy.url}/window/x`, { headers: key })).status, 200)
  assert.equal((await http(`${proxy.url}/window/x`, { headers: key })).status, 200)
  const w = await http(`${proxy.url}/window/x`, { headers: key })
  assert.equal(w.status, 429)
  assert.equal((await http(`${proxy.url}/window/x`, { headers: { 'x-key': 'k2' } })).status, 200)
  assert.equal((await http(`${proxy.url}/window/x`)).headers['ratelimit-limit'], undefined) // no key: not limited
  now += 20_000
  assert.equal((await http(`${proxy.url}/window/x`, { headers: key })).status, 200)
})

test('rateLimit (Redis): one limit shared by two proxies; fails open with one warning when Redis dies', async (t) => {
  const redis = await startRedis()
  const backend = await echoBackend('api')
  const warnings: string[] = []
  const log = (level: string, message: string) => void (level === 'warn' && warnings.push(message))
  const url = `redis://127.0.0.1:${redis.port}`
  const storeA = redisRateLimitStore({ url, prefix: 'test:rl:' })
  const storeB = redisRateLimitStore({ url, prefix: 'test:rl:' })
  const config = (store: typeof storeA, algorithm: 'token-bucket' | 'sliding-window') => ({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/tb/*' }, to: 'api', use: [rateLimit({ limit: 3, window: '1h', store, log, key: 'header:x-user' })] },
      { match: { path: '/sw/*' }, to: 'api', use: [rateLimit({ limit: 3, window: '1h', algorithm, store, log, key: (ctx) => `sw:${ctx.headers.get('x-user')}` })] },
    ],
  })
  const a = await startProxy(config(storeA, 'sliding-window'))
  const b = await startProxy(config(storeB, 'sliding-window'))
  t.after(() => a.close())
  t.after(() => b.close())
  t.after(() => storeA.close())
  t.after(() => storeB.close())
  t.after(() => backend.close())
  t.after(() => redis.stop())
  for (const path of ['/tb/x', '/sw/x']) {
    const user = { 'x-user': 'u1' }
    const statuses = [
      (await http(`${a.url}${path}`, { headers: user })).status,
      (await http(`${b.url}${path}`, { headers: user })).status,
      (await http(`${a.url}${path}`, { headers: user })).status,
      (await http(`${b.url}${path}`, { headers: user })).status,
      (await http(`${a.url}${path}`, { headers: user })).status,
    ]
    assert.deepEqual(statuses, [200, 200, 200, 429, 429], path)
    const other = await http(`${b.url}${path}`, { headers: { 'x-user': 'u2' } })
    assert.deepEqual([other.status, other.headers['ratelimit-remaining']], [200, '2'])
  }
  // Concurrent requests from both proxies never over-admit (the Lua script is atomic).
  const burst = await Promise.all(Array.from({ length: 20 }, (_, n) => http(`${(n % 2 ? a : b).url}/tb/x`, { headers: { 'x-user': 'burst' } })))
  assert.equal(burst.filter((r) => r.status === 200).length, 3)
  assert.equal(warnings.length, 0)
  await redis.stop()
  for (let n = 0; n < 5; n++) {
    const res = await http(`${a.url}/tb/x`, { headers: { 'x-user': 'u1' } })
    assert.equal(res.status, 200) // fail open
    assert.equal(res.headers['x-backend'], 'api')
  }
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!, /rateLimit: store failed/)
})

// The Redis store behind the proxy: two proxy instances share one cache; Redis going away never
// fails a request (pass-through, one warning) and the cache comes back with it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { http } from '../helpers/servers.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { RedisStore } from '../../runtime/cache/redis-store.js'
import { clock, countingBackend, startCacheProxy } from './cache-proxy.js'
import { startRedis } from './redis-server.js'

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  // Polls without a fixed sleep; the bound only turns a hang into a readable failure.
  const end = Date.now() + 10_000
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function redisStore(p: { runtime: { cache: { stores: { entries(): Array<[string, unknown]> } } } }): RedisStore {
  const s = p.runtime.cache.stores.entries().find(([id]) => id.startsWith('redis|'))
  return s![1] as RedisStore
}

test('two proxy instances share one Redis cache; a Redis outage never fails a request', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    res.setHeader('cache-tag', 'shared')
    res.end(`from origin ${req.url}`)
  })
  t.after(() => backend.close())
  const config: SwitchyardConfig = {
    upstreams: { b: { servers: [backend.url] } },
    routes: [{ match: { path: '/*' }, to: 'b', cache: true }],
    cache: { store: { type: 'redis', url: `redis://127.0.0.1:${redis.port}`, prefix: `t:${randomBytes(4).toString('hex')}:` } },
    admin: { listen: 0 },
  }
  const one = await startCacheProxy(config, c.fn)
  t.after(() => one.close())
  const two = await startCacheProxy(config, c.fn)
  t.after(() => two.close())
  for (const p of [one, two]) assert.equal(await redisStore(p).whenReady(5000), true)

  const first = await http(one.url + '/x')
  assert.match(first.headers['cache-status'] as string, /fwd=uri-miss; fwd-status=200; stored/)
  await until(async () => (await redisStore(one).get(`GET http://127.0.0.1:${one.port}/x`)) !== undefined, 'the entry in Redis')
  // Same Host header → same key on the other instance.
  const other = await http(two.url + '/x', { headers: { host: `127.0.0.1:${one.port}` } })
  assert.equal(other.body.toString(), 'from origin /x')
  assert.match(other.headers['cache-status'] as string, /^switchyard; hit/)
  assert.equal(backend.seen.length, 1)

  // A purge through one instance's admin API empties the cache for both.
  const admin = `http://127.0.0.1:${two.runtime.admin.address()!.port}`
  const purged = await http(`${admin}/cache/purge`, { method: 'POST', body: JSON.stringify({ tag: 'shared' }) })
  assert.deepEqual(JSON.parse(purged.body.toString()), { purged: 1 })
  assert.match((await http(one.url + '/x')).headers['cache-status'] as string, /uri-miss/)
  await until(async () => (await redisStore(one).get(`GET http://127.0.0.1:${one.port}/x`)) !== undefined, 'the entry in Redis again')
  await http(one.url + '/p/1')
  await until(async () => (await redisStore(one).get(`GET http://127.0.0.1:${one.port}/p/1`)) !== undefined, 'the /p/1 entry')
  const byPath = await http(`${admin}/cache/purge`, { method: 'POST', body: JSON.stringify({ prefix: '/p/' }) })
  assert.deepEqual(JSON.parse(byPath.body.toString()), { purged: 1 })
  assert.notEqual(await redisStore(one).get(`GET http://127.0.0.1:${one.port}/x`), undefined)

  // Redis dies: requests pass through, one warning per instance.
  await redis.stop()
  await until(() => !redisStore(one).isHealthy(), 'the store to notice')
  for (let i = 0; i < 5; i++) {
    const r = await http(one.url + '/x')
    assert.equal(r.status, 200)
    assert.equal(r.body.toString(), 'from origin /x')
    assert.match(r.headers['cache-status'] as string, /fwd=uri-miss/)
  }
  const warnings = one.log.lines.filter((l) => l.level === 'warn' && /redis cache store unavailable/.test(l.message))
  assert.equal(warnings.length, 1)
  const down = await http(`${admin}/cache/purge`, { method: 'POST', body: JSON.stringify({ tag: 'shared' }) })
  assert.equal(down.status, 503)

  // Redis is back on the same port: the cache works again.
  const again = await startRedis(redis.port)
  t.after(() => again.stop())
  await until(() => redisStore(one).isHealthy(), 'the store to reconnect')
  await http(one.url + '/y')
  await until(async () => (await redisStore(one).get(`GET http://127.0.0.1:${one.port}/y`)) !== undefined, 'the entry after recovery')
  assert.match((await http(one.url + '/y')).headers['cache-status'] as string, /hit/)
  assert.ok(one.log.lines.some((l) => /connection restored/.test(l.message)))
})

// Runs the store conformance suite against a real redis-server spawned by the test, plus outage
// behaviour (kill Redis mid-test, then bring it back on the same port).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { RedisStore } from '../../runtime/cache/redis-store.js'
import { chunks, entry, readAll, storeConformance } from './store-conformance.js'
import { assertRedisInstalled, startRedis, type RedisProcess } from './redis-server.js'

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}

let redis: RedisProcess
const stores: RedisStore[] = []

async function connect(opts: { now?: () => number; maxObjectSize?: number; log?: (l: 'warn' | 'info', m: string) => void } = {}): Promise<RedisStore> {
  const store = new RedisStore({
    redis: { host: '127.0.0.1', port: redis.port },
    prefix: `test:${randomBytes(4).toString('hex')}:`,
    log: opts.log ?? (() => undefined),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.maxObjectSize ? { maxObjectSize: opts.maxObjectSize } : {}),
  })
  stores.push(store)
  assert.equal(await store.whenReady(3000), true)
  return store
}

// A plain failing test (not just a failed hook) so the summary counts it and says why.
it('redis-server is installed (.ci/run must install it)', () => assertRedisInstalled())

describe('RedisStore', () => {
  before(async () => {
    redis = await startRedis()
  })
  after(async () => {
    await Promise.all(stores.map((s) => s.close()))
    await redis?.stop()
  })

  storeConformance('redis', async ({ now, maxObjectSize }) => connect({ now, maxObjectSize }))

  it('sets a Redis TTL from expiresAt', async () => {
    const store = await connect()
    const e = entry('GET http://a:80/ttl', { expiresAt: Date.now() + 5000 })
    await store.put(e, chunks(Buffer.from('x')))
    const keys = await store.client.keys(`*`)
    const ttls = await Promise.all(keys.filter((k) => k.includes('/ttl')).map((k) => store.client.pttl(k)))
    assert.ok(ttls.length === 2 && ttls.every((t) => t > 0 && t <= 5000), `ttls ${ttls}`)
  })

  it('removes expired variants from the index lazily, keeping live ones', async () => {
    let t = 1_000_000
    const store = await connect({ now: () => t })
    const k = 'GET http://a:80/lazy'
    await store.put(entry(k, { variantKey: 'short', expiresAt: t + 1000 }), chunks(Buffer.from('s')))
    await store.put(entry(k, { variantKey: 'long', expiresAt: t + 60_000 }), chunks(Buffer.from('l')))
    t += 2000
    assert.deepEqual((await store.get(k))?.map((e) => e.variantKey), ['long'])
    const index = (await store.client.keys('*k:GET http://a:80/lazy'))[0]!
    for (let i = 0; i < 50 && (await store.client.hexists(index, 'short')) === 1; i++) await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(await store.client.hkeys(index), ['long'])
  })

  it('does not hang on a frozen Redis: commands time out, then health returns', async () => {
    const logs: string[] = []
    const store = await connect({ log: (l) => logs.push(l) })
    const e = entry('GET http://a:80/frozen', { expiresAt: Date.now() + 60_000 })
    await store.put(e, chunks(Buffer.from('x')))
    redis.freeze()
    try {
      const t0 = Date.now()
      assert.equal(await store.get(e.key), undefined)
      assert.ok(Date.now() - t0 < 1500, `get took ${Date.now() - t0} ms`)
      assert.equal(store.isHealthy(), false)
      assert.equal(await store.put(e, chunks(Buffer.from('y'))), false)
    } finally {
      redis.thaw()
    }
    await until(() => store.isHealthy(), 5000)
    assert.ok(await store.get(e.key))
    assert.deepEqual(logs.filter((l) => l === 'warn').length, 1)
  })

  it('survives Redis going away: fast fallbacks, one warning, recovery on restart', async () => {
    const logs: [string, string][] = []
    const store = await connect({ log: (l, m) => logs.push([l, m]) })
    const e = entry('GET http://a:80/outage', { expiresAt: Date.now() + 60_000, responseTime: Date.now() })
    assert.equal(await store.put(e, chunks(Buffer.from('before'))), true)
    const port = redis.port
    await redis.stop()
    await until(() => !store.isHealthy())

    const t0 = Date.now()
    for (let i = 0; i < 5; i++) {
      assert.equal(await store.get(e.key), undefined)
      assert.equal(await store.put(e, chunks(Buffer.from('during'))), false)
      await store.delete(e.key)
    }
    assert.ok(Date.now() - t0 < 500, 'fallbacks do not wait for timeouts')
    await new Promise((r) => setTimeout(r, 300)) // let a few reconnect attempts fail
    assert.equal(logs.filter(([l]) => l === 'warn').length, 1, JSON.stringify(logs))

    redis = await startRedis(port) // an empty Redis on the same port
    await until(() => store.isHealthy(), 5000)
    assert.equal(await store.put(e, chunks(Buffer.from('after'))), true)
    assert.equal((await readAll((await store.get(e.key))![0]!))?.toString(), 'after')
    assert.ok(logs.some(([l, m]) => l === 'info' && /restored/.test(m)))
  })
})

// The Redis rate-limit store on a real redis-server (no proxy): Lua scripts agree with the
// in-memory algorithms, two stores share one limit, and a dead Redis makes consume() reject fast.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RedisRateLimitStore } from '../../src/middleware/rate-limit-redis.js'
import { MemoryRateLimitStore, rateLimit, type RateLimitPolicy } from '../../src/middleware/rate-limit.js'
import { startRedis } from '../cache/redis-server.js'
import { fakeContext } from './fake-context.js'

test('redis rate-limit store: same decisions as the memory store, shared between instances, fails fast when down', async (t) => {
  const redis = await startRedis()
  const url = `redis://127.0.0.1:${redis.port}`
  const a = new RedisRateLimitStore({ url, prefix: 't1:' })
  const b = new RedisRateLimitStore({ url, prefix: 't1:' })
  t.after(() => a.close())
  t.after(() => b.close())
  t.after(() => redis.stop())
  for (const algorithm of ['token-bucket', 'sliding-window'] as const) {
    const p: RateLimitPolicy = { algorithm, limit: 3, windowMs: 1000 }
    const mem = new MemoryRateLimitStore()
    // Alternate the two Redis stores; compare with one memory store at the same (injected) times.
    const times = [10_000, 10_100, 10_200, 10_300, 10_650, 11_050, 11_500, 12_600, 14_000]
    for (const [n, now] of times.entries()) {
      const fromRedis = await (n % 2 ? a : b).consume(`k-${algorithm}`, p, now)
      const fromMemory = mem.consume(`k-${algorithm}`, p, now)
      assert.deepEqual(fromRedis, fromMemory, `${algorithm} at ${now}`)
    }
  }
  // Atomic under concurrency.
  const p: RateLimitPolicy = { algorithm: 'token-bucket', limit: 5, windowMs: 3_600_000 }
  const results = await Promise.all(Array.from({ length: 40 }, (_, n) => (n % 2 ? a : b).consume('burst', p, 1_000)))
  assert.equal(results.filter((r) => r.allowed).length, 5)
  // Down: consume rejects (quickly: no offline queue), and the middleware lets the request through.
  await redis.stop()
  await assert.rejects(a.consume('k', p, 2_000))
  const warnings: string[] = []
  const mw = rateLimit({ limit: 1, store: a, log: (level, m) => void (level === 'warn' && warnings.push(m)) })
  for (let n = 0; n < 3; n++) assert.equal(await mw.onRequest!(fakeContext()), undefined)
  assert.equal(warnings.length, 1)
})

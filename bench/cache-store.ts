// Micro-benchmark of the cache seams: policy decisions and store get/put.
//   node --import tsx bench/cache-store.ts                 (policy + memory store)
//   REDIS_URL=redis://127.0.0.1:6379 node --import tsx bench/cache-store.ts   (adds Redis)
import { MemoryStore } from '../runtime/cache/memory-store.js'
import { RedisStore } from '../runtime/cache/redis-store.js'
import type { CacheStore, NewEntry } from '../runtime/cache/store.js'
import { cacheKeyForUrl, decide, formatHttpDate, isStorable, newEntry } from '../runtime/cache/policy.js'

const log = (s: string): void => void process.stdout.write(`${s}\n`)

function time(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 10_000); i++) fn(i) // warm up
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  const ns = Number(process.hrtime.bigint() - t0) / n
  log(`${label.padEnd(44)} ${ns.toFixed(0).padStart(7)} ns/op`)
}

async function timeAsync(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) await fn(i)
  const us = Number(process.hrtime.bigint() - t0) / n / 1000
  log(`${label.padEnd(44)} ${us.toFixed(1).padStart(7)} µs/op`)
}

const now = Date.now()
const req = { method: 'GET', headers: { host: 'example.com', 'accept-encoding': 'gzip, br', 'user-agent': 'bench' } }
const res = {
  status: 200,
  headers: {
    date: formatHttpDate(now), 'cache-control': 'public, max-age=300', etag: '"abc"', vary: 'Accept-Encoding',
    'content-type': 'text/html', 'content-length': '1024',
  },
}
const entryFor = (i: number): NewEntry =>
  newEntry({ key: cacheKeyForUrl('GET', `https://example.com/p/${i}`), req, res, requestTime: now, responseTime: now })!

time('isStorable', 200_000, () => isStorable(req, res))
const stored = { ...entryFor(0) }
time('decide (fresh hit, Vary match)', 200_000, () => decide(req, [stored], now + 1000))
time('cacheKeyForUrl', 200_000, (i) => cacheKeyForUrl('GET', `https://example.com/p/${i & 1023}?q=1`))

async function storeBench(name: string, store: CacheStore, n: number): Promise<void> {
  const body = new Uint8Array(1024)
  async function* one(): AsyncGenerator<Uint8Array> {
    yield body
  }
  const entries = Array.from({ length: n }, (_, i) => entryFor(i))
  await timeAsync(`${name}: put 1 KiB`, n, (i) => store.put(entries[i]!, one()))
  await timeAsync(`${name}: get hit`, n, (i) => store.get(entries[i]!.key))
  await timeAsync(`${name}: get hit + read body`, n, async (i) => {
    const [e] = (await store.get(entries[i]!.key))!
    for await (const _ of (await e!.body())!) void _
  })
  await timeAsync(`${name}: get miss`, n, (i) => store.get(`GET https://example.com:443/none/${i}`))
}

await storeBench('memory', new MemoryStore(), 20_000)
if (process.env.REDIS_URL) {
  const redis = new RedisStore({ redis: process.env.REDIS_URL, prefix: `bench:${process.pid}:`, log: () => undefined })
  for (let i = 0; i < 100 && !redis.isHealthy(); i++) await new Promise((r) => setTimeout(r, 20))
  await storeBench('redis', redis, 5_000)
  await redis.purgePrefix('')
  await redis.close()
}

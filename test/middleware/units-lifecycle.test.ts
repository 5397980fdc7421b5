// Unit tests (no proxy) for what issue #5's last gaps added to the middleware: clientAddress
// defaulting to the global trustProxy, resolveForwarded, bodyLimit → ctx.setBodyLimit,
// ctx.log as the default logger, rateLimit.close() and a Redis store reopening after close().
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { clientAddress, compileTrust, bodyLimit, rateLimit, redisRateLimitStore, type RateLimitStore } from '../../src/middleware/index.js'
import { resolveForwarded } from '../../runtime/client-address.js'
import { fakeContext } from './fake-context.js'
import { startRedis } from '../cache/redis-server.js'

test('clientAddress: ctx.clientIp by default; an explicit trust walks X-Forwarded-For from the peer', () => {
  const ctx = fakeContext({ clientIp: '203.0.113.9', peerIp: '10.0.0.5', headers: { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' } })
  assert.equal(clientAddress(ctx), '203.0.113.9')
  assert.equal(clientAddress(ctx, []), '10.0.0.5')
  assert.equal(clientAddress(ctx, ['10.0.0.0/8']), '203.0.113.9')
  assert.equal(clientAddress(ctx, compileTrust(2)), '6.6.6.6')
})

test('resolveForwarded: only a trusted peer is believed; last values of Proto/Host; junk ignored', () => {
  const trust = compileTrust(['loopback'])
  const raw = ['X-Forwarded-For', '198.51.100.1', 'x-forwarded-for', '203.0.113.9', 'X-Forwarded-Proto', 'http, HTTPS', 'X-Forwarded-Host', 'a.example, b.example.:8443']
  assert.deepEqual(resolveForwarded('127.0.0.1', raw, trust), { clientIp: '203.0.113.9', trusted: true, proto: 'https', host: 'b.example:8443' })
  assert.deepEqual(resolveForwarded('192.0.2.1', raw, trust), { clientIp: '192.0.2.1', trusted: false, proto: 'http', host: '' })
  assert.deepEqual(resolveForwarded('::1', ['X-Forwarded-Host', 'bad host'], trust), { clientIp: '::1', trusted: true, proto: 'http', host: '' })
  assert.deepEqual(resolveForwarded('not-an-ip', raw, trust), { clientIp: 'not-an-ip', trusted: false, proto: 'http', host: '' })
})

test('bodyLimit: chunked bodies are limited through ctx.setBodyLimit; Content-Length ones are not', async () => {
  const bl = bodyLimit({ max: '1kb' })
  const chunked = fakeContext({ method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
  assert.equal(await bl.onRequest!(chunked), undefined)
  assert.deepEqual(chunked.bodyLimits, [1024])
  const sized = fakeContext({ method: 'POST', headers: { 'content-length': '10' } })
  assert.equal(await bl.onRequest!(sized), undefined)
  assert.deepEqual(sized.bodyLimits, [])
  assert.equal(bl.onUpstreamRequest, undefined)
})

test('rateLimit: store outages go to ctx.log by default; close() closes the store', async () => {
  let closed = 0
  const failing: RateLimitStore = {
    consume: () => { throw new Error('down') },
    close: () => void closed++,
  }
  const mw = rateLimit({ limit: 1, store: failing })
  const ctx = fakeContext()
  assert.equal(await mw.onRequest!(ctx), undefined)
  assert.equal(await mw.onRequest!(fakeContext()), undefined)
  assert.deepEqual(ctx.logged.map((l) => [l.level, l.message]), [['warn', 'rateLimit: store failed, letting requests through until it recovers: down']])
  await mw.close!()
  assert.equal(closed, 1)
  // The default memory store has nothing to close.
  await rateLimit({ limit: 1 }).close!()
})

test('redis rate-limit store: close() quits its connection; using it again reconnects', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const store = redisRateLimitStore({ url: `redis://127.0.0.1:${redis.port}` })
  t.after(() => store.close())
  const policy = { algorithm: 'token-bucket' as const, limit: 5, windowMs: 60_000 }
  assert.equal((await store.consume('k', policy, 1000)).remaining, 4)
  const first = store.client!
  await store.close()
  assert.equal(first.status, 'end')
  assert.equal(store.client, undefined)
  await store.close() // twice is fine
  assert.equal((await store.consume('k', policy, 1000)).remaining, 3)
  assert.notEqual(store.client, first)
})

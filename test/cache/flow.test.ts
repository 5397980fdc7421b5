// The two seams together, the way the request path will drive them: policy decides, store keeps.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MemoryStore } from '../../runtime/cache/memory-store.js'
import {
  ageHeaderValue, cacheKeyForUrl, decide, formatHttpDate, freshen, isNotModified, isStorable,
  newEntry, selectForUpdate, validationOutcome,
} from '../../runtime/cache/policy.js'
import { chunks, readAll } from './store-conformance.js'

const T = Date.UTC(2026, 0, 1, 12)
const URL_ = 'https://example.com/doc?id=1'

describe('cache flow: miss → store → hit → revalidate → 304 → hit', () => {
  it('runs end to end on a MemoryStore with an injected clock', async () => {
    let now = T
    const store = new MemoryStore({ now: () => now })
    const key = cacheKeyForUrl('GET', URL_)
    const req = { method: 'GET', headers: { 'accept-encoding': 'gzip' } }

    // 1. Miss; the origin answers 200 and the response is stored.
    assert.deepEqual(decide(req, await store.get(key), now), { kind: 'miss', fwd: 'uri-miss' })
    const res = {
      status: 200,
      headers: { date: formatHttpDate(T), 'cache-control': 'max-age=10', etag: '"v1"', vary: 'Accept-Encoding', connection: 'close', 'x-a': '1' },
    }
    assert.ok(isStorable(req, res).storable)
    const entry = newEntry({ key, req, res, requestTime: T - 20, responseTime: T, tags: ['doc'] })!
    assert.equal(entry.variantKey, '[["accept-encoding","gzip"]]')
    assert.ok(!entry.headers.some(([n]) => n === 'connection'))
    assert.equal(await store.put(entry, chunks(Buffer.from('hello '), Buffer.from('world'))), true)

    // 2. Hit while fresh; HEAD shares the key; a client conditional gets a 304.
    now = T + 4000
    const hit = decide({ method: 'HEAD', headers: { 'accept-encoding': 'gzip' } }, await store.get(key), now)
    assert.equal(hit.kind, 'fresh')
    if (hit.kind !== 'fresh') return
    assert.equal(ageHeaderValue(hit.ageMs), '4')
    assert.equal((await readAll(hit.entry))?.toString(), 'hello world')
    assert.ok(isNotModified({ method: 'GET', headers: { 'if-none-match': 'W/"v1"' } }, hit.entry))
    assert.equal(decide({ method: 'GET', headers: { 'accept-encoding': 'br' } }, await store.get(key), now).kind, 'miss')

    // 3. Stale: revalidate with If-None-Match; the origin says 304 with new freshness.
    now = T + 15_000
    const stale = decide(req, await store.get(key), now)
    assert.equal(stale.kind, 'revalidate')
    if (stale.kind !== 'revalidate') return
    assert.deepEqual(stale.conditionalHeaders, { 'if-none-match': '"v1"' })
    const notModified = { date: formatHttpDate(now), 'cache-control': 'max-age=60', etag: '"v1"', 'x-a': '2' }
    assert.equal(validationOutcome(304, stale.staleIfError), 'freshen')
    const entries = (await store.get(key))!
    for (const e of selectForUpdate(entries, notModified, stale.entry)) {
      const refreshed = freshen(e, notModified, { requestTime: now - 5, responseTime: now })
      assert.ok(isStorable(req, refreshed).storable)
      assert.equal(await store.updateMeta(refreshed), true)
    }

    // 4. Fresh again with the updated headers and the same body.
    now += 30_000
    const again = decide(req, await store.get(key), now)
    assert.equal(again.kind, 'fresh')
    if (again.kind !== 'fresh') return
    assert.ok(again.entry.headers.some(([n, v]) => n === 'x-a' && v === '2'))
    assert.equal((await readAll(again.entry))?.toString(), 'hello world')

    // 5. A successful POST to the same URL invalidates it.
    await store.delete(cacheKeyForUrl('GET', URL_))
    assert.equal(await store.get(key), undefined)
  })

  it('falls back to the stale entry when revalidation fails inside stale-if-error', () => {
    assert.equal(validationOutcome(503, true), 'serve-stale')
    assert.equal(validationOutcome(undefined, true), 'serve-stale')
    assert.equal(validationOutcome(503, false), 'use-response')
    assert.equal(validationOutcome(200, true), 'use-response')
  })

  it('newEntry refuses Vary: *', () => {
    const res = { status: 200, headers: { vary: '*', 'cache-control': 'max-age=5' } }
    assert.equal(newEntry({ key: 'k', req: { method: 'GET', headers: {} }, res, requestTime: T, responseTime: T }), undefined)
  })
})

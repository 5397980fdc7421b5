// One suite every CacheStore implementation runs (ARCHITECTURE.md: seams have a shared suite).
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import type { CacheStore, NewEntry, StoredEntry } from '../../runtime/cache/store.js'

export interface StoreFixture {
  store: CacheStore
  /** Moves the store's clock. */
  advance(ms: number): void
  now(): number
}

/** `make` builds a store with this clock and `maxObjectSize`; called once per test. */
export type MakeStore = (opts: { now: () => number; maxObjectSize: number }) => Promise<CacheStore>

export const MAX_OBJECT = 64 * 1024

export async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await new Promise((r) => setImmediate(r)) // genuinely asynchronous chunks
    yield p
  }
}

export async function readAll(e: StoredEntry): Promise<Buffer | undefined> {
  const body = await e.body()
  if (!body) return undefined
  const out: Uint8Array[] = []
  for await (const c of body) out.push(c)
  return Buffer.concat(out)
}

export function entry(key: string, over: Partial<NewEntry> = {}, now = 1_000_000): NewEntry {
  return {
    key,
    variantKey: '',
    status: 200,
    headers: [['content-type', 'text/plain'], ['cache-control', 'max-age=60'], ['x-multi', 'a'], ['x-multi', 'b']],
    requestTime: now - 5,
    responseTime: now,
    expiresAt: now + 60_000,
    tags: [],
    ...over,
  }
}

export function storeConformance(name: string, make: MakeStore): void {
  describe(`CacheStore conformance: ${name}`, () => {
    let t = 1_000_000
    let store: CacheStore
    const fx = (): StoreFixture => ({ store, advance: (ms) => (t += ms), now: () => t })
    const fresh = async (): Promise<StoreFixture> => {
      if (store) await store.close()
      t = 1_000_000
      store = await make({ now: () => t, maxObjectSize: MAX_OBJECT })
      return fx()
    }
    before(fresh)
    after(async () => store?.close())

    it('round-trips a multi-chunk streamed body and its metadata', async () => {
      const { store } = await fresh()
      const parts = [randomBytes(1000), randomBytes(20_000), Buffer.from('tail ✓')]
      const e = entry('GET http://a:80/rt', { tags: ['t1', 't2'] })
      assert.equal(await store.put(e, chunks(...parts)), true)
      const got = await store.get(e.key)
      assert.equal(got?.length, 1)
      const [g] = got!
      assert.deepEqual(await readAll(g!), Buffer.concat(parts))
      assert.equal(g!.status, 200)
      assert.deepEqual(g!.headers, e.headers)
      assert.equal(g!.requestTime, e.requestTime)
      assert.equal(g!.responseTime, e.responseTime)
      assert.equal(g!.expiresAt, e.expiresAt)
      assert.deepEqual([...g!.tags].sort(), ['t1', 't2'])
      assert.ok(g!.size >= 21_000)
    })

    it('accepts a Node Readable as the body', async () => {
      const { store } = await fresh()
      const e = entry('GET http://a:80/readable')
      assert.equal(await store.put(e, Readable.from([Buffer.from('ab'), Buffer.from('cd')])), true)
      assert.equal((await readAll((await store.get(e.key))![0]!))?.toString(), 'abcd')
    })

    it('returns undefined for an unknown key', async () => {
      const { store } = await fresh()
      assert.equal(await store.get('GET http://a:80/nothing'), undefined)
    })

    it('keeps variants under one key and replaces the same variant', async () => {
      const { store } = await fresh()
      const k = 'GET http://a:80/v'
      await store.put(entry(k, { variantKey: '[["accept-encoding","gzip"]]' }), chunks(Buffer.from('gz')))
      await store.put(entry(k, { variantKey: '[["accept-encoding","br"]]' }), chunks(Buffer.from('br1')))
      await store.put(entry(k, { variantKey: '[["accept-encoding","br"]]', status: 203 }), chunks(Buffer.from('br2')))
      const got = (await store.get(k))!
      assert.equal(got.length, 2)
      const br = got.find((e) => e.variantKey.includes('br'))!
      assert.equal(br.status, 203)
      assert.equal((await readAll(br))?.toString(), 'br2')
    })

    it('deletes one variant or a whole key', async () => {
      const { store } = await fresh()
      const k = 'GET http://a:80/d'
      await store.put(entry(k, { variantKey: 'x' }), chunks(Buffer.from('x')))
      await store.put(entry(k, { variantKey: 'y' }), chunks(Buffer.from('y')))
      await store.delete(k, 'x')
      assert.deepEqual((await store.get(k))!.map((e) => e.variantKey), ['y'])
      await store.delete(k)
      assert.equal(await store.get(k), undefined)
    })

    it('purges by tag', async () => {
      const { store } = await fresh()
      await store.put(entry('GET http://a:80/p1', { tags: ['red'] }), chunks(Buffer.from('1')))
      await store.put(entry('GET http://a:80/p2', { tags: ['red', 'blue'] }), chunks(Buffer.from('2')))
      await store.put(entry('GET http://a:80/p3', { tags: ['blue'] }), chunks(Buffer.from('3')))
      // Re-stored without the tag: a later purge of that tag must leave it alone.
      await store.put(entry('GET http://a:80/p4', { tags: ['red'] }), chunks(Buffer.from('4')))
      await store.put(entry('GET http://a:80/p4', { tags: [] }), chunks(Buffer.from('4')))
      assert.equal(await store.purgeTag('red'), 2)
      assert.equal(await store.get('GET http://a:80/p1'), undefined)
      assert.equal(await store.get('GET http://a:80/p2'), undefined)
      assert.ok(await store.get('GET http://a:80/p3'))
      assert.ok(await store.get('GET http://a:80/p4'))
      assert.equal(await store.purgeTag('nope'), 0)
    })

    it('purges by key prefix, glob characters included', async () => {
      const { store } = await fresh()
      await store.put(entry('GET http://a:80/img/*/1'), chunks(Buffer.from('1')))
      await store.put(entry('GET http://a:80/img/*/2', { variantKey: 'v' }), chunks(Buffer.from('2')))
      await store.put(entry('GET http://a:80/img/x/3'), chunks(Buffer.from('3')))
      await store.put(entry('GET http://a:80/css/1'), chunks(Buffer.from('4')))
      assert.equal(await store.purgePrefix('GET http://a:80/img/*/'), 2)
      assert.ok(await store.get('GET http://a:80/img/x/3'))
      assert.equal(await store.purgePrefix('GET http://a:80/img/'), 1)
      assert.ok(await store.get('GET http://a:80/css/1'))
    })

    it('drops entries once expiresAt has passed', async () => {
      const f = await fresh()
      const e = entry('GET http://a:80/exp', { expiresAt: f.now() + 1000 })
      assert.equal(await f.store.put(e, chunks(Buffer.from('x'))), true)
      f.advance(999)
      assert.ok(await f.store.get(e.key))
      f.advance(1)
      assert.equal(await f.store.get(e.key), undefined)
      assert.equal(await f.store.put(entry('GET http://a:80/exp2', { expiresAt: f.now() }), chunks(Buffer.from('x'))), false)
    })

    it('stores nothing when the body exceeds maxObjectSize', async () => {
      const { store } = await fresh()
      const e = entry('GET http://a:80/big')
      let pulled = 0
      async function* endless(): AsyncGenerator<Uint8Array> {
        for (;;) {
          pulled++
          yield new Uint8Array(16 * 1024)
        }
      }
      assert.equal(await store.put(e, endless()), false) // stops reading at the limit
      assert.ok(pulled <= MAX_OBJECT / (16 * 1024) + 1)
      assert.equal(await store.get(e.key), undefined)
      assert.equal(await store.put(e, chunks(new Uint8Array(MAX_OBJECT))), true) // exactly the limit fits
    })

    it('stores nothing when the body stream errors', async () => {
      const { store } = await fresh()
      const e = entry('GET http://a:80/err')
      async function* broken(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('partial')
        throw new Error('upstream reset')
      }
      assert.equal(await store.put(e, broken()), false)
      assert.equal(await store.get(e.key), undefined)
    })

    it('updates metadata in place, keeping the body', async () => {
      const f = await fresh()
      const e = entry('GET http://a:80/u', { tags: ['a'] })
      await f.store.put(e, chunks(Buffer.from('body')))
      const before = (await f.store.get(e.key))![0]!
      const updated = { ...e, headers: [['etag', '"2"']] as [string, string][], responseTime: e.responseTime + 10, expiresAt: e.expiresAt + 5000 }
      assert.equal(await f.store.updateMeta(updated), true)
      const got = (await f.store.get(e.key))![0]!
      assert.deepEqual(got.headers, [['etag', '"2"']])
      assert.equal(got.responseTime, e.responseTime + 10)
      assert.equal((await readAll(got))?.toString(), 'body')
      assert.equal((await readAll(before))?.toString(), 'body', 'an entry read before the refresh still has its body')
      assert.equal(await f.store.updateMeta(entry('GET http://a:80/missing')), false)
    })

    it('does not serve a body replaced after get', async () => {
      const { store } = await fresh()
      const e = entry('GET http://a:80/race')
      await store.put(e, chunks(Buffer.from('old')))
      const old = (await store.get(e.key))![0]!
      await store.put(e, chunks(Buffer.from('new')))
      assert.equal(await old.body(), undefined)
    })

    it('reports healthy', async () => {
      const { store } = await fresh()
      assert.equal(store.isHealthy(), true)
    })
  })
}

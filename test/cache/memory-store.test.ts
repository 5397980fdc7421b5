import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ENTRY_OVERHEAD_BYTES, MemoryStore } from '../../runtime/cache/memory-store.js'
import { metaBytes, readBody } from '../../runtime/cache/store.js'
import { chunks, entry, storeConformance } from './store-conformance.js'

storeConformance('memory', async ({ now, maxObjectSize }) => new MemoryStore({ now, maxObjectSize, maxSize: 16 * 1024 * 1024 }))

describe('MemoryStore LRU by bytes', () => {
  const now = (): number => 1_000_000
  const body = new Uint8Array(1000)
  const cost = (key: string): number => body.byteLength + metaBytes(entry(key)) + ENTRY_OVERHEAD_BYTES

  it('evicts the least recently used entries when a put goes over maxSize', async () => {
    const per = cost('GET http://a:80/0')
    const store = new MemoryStore({ now, maxSize: per * 3 + 10 })
    for (const i of [0, 1, 2]) assert.equal(await store.put(entry(`GET http://a:80/${i}`), chunks(body)), true)
    assert.equal(store.size, per * 3)
    assert.ok(await store.get('GET http://a:80/0')) // reading 0 makes 1 the least recently used
    assert.equal(await store.put(entry('GET http://a:80/3'), chunks(body)), true)
    assert.equal(await store.get('GET http://a:80/1'), undefined)
    for (const i of [0, 2, 3]) assert.ok(await store.get(`GET http://a:80/${i}`), `entry ${i} survives`)
    assert.ok(store.size <= store.maxSize)
  })

  it('evicts as many entries as a large insert needs, and accounts headers', async () => {
    const per = cost('GET http://a:80/0')
    const store = new MemoryStore({ now, maxSize: per * 4 })
    for (const i of [0, 1, 2, 3]) await store.put(entry(`GET http://a:80/${i}`), chunks(body))
    const big = new Uint8Array(per * 2)
    assert.equal(await store.put(entry('GET http://a:80/big'), chunks(big)), true)
    assert.equal(await store.get('GET http://a:80/0'), undefined)
    assert.equal(await store.get('GET http://a:80/1'), undefined)
    assert.equal(await store.get('GET http://a:80/2'), undefined)
    assert.ok(await store.get('GET http://a:80/3'))
    const heavy = entry('GET http://a:80/h', { headers: [['x-long', 'v'.repeat(5000)]] })
    const roomy = new MemoryStore({ now })
    await roomy.put(heavy, chunks(body))
    const [got] = (await roomy.get(heavy.key))!
    assert.ok(got!.size > 5000 + body.byteLength)
  })

  it('refuses an entry larger than the whole store without evicting anything', async () => {
    const store = new MemoryStore({ now, maxSize: 4000, maxObjectSize: 1_000_000 })
    await store.put(entry('GET http://a:80/keep'), chunks(new Uint8Array(100)))
    assert.equal(await store.put(entry('GET http://a:80/huge'), chunks(new Uint8Array(5000))), false)
    assert.ok(await store.get('GET http://a:80/keep'))
  })

  it('releases bytes on delete and purge', async () => {
    const store = new MemoryStore({ now })
    await store.put(entry('GET http://a:80/1', { tags: ['t'] }), chunks(body))
    await store.put(entry('GET http://a:80/2'), chunks(body))
    await store.purgeTag('t')
    await store.delete('GET http://a:80/2')
    assert.equal(store.size, 0)
  })
})

describe('MemoryStore synchronous lookups (the hit fast path)', () => {
  it('getNow hands out the same frozen entry on every hit, with its body at hand', async () => {
    let t = 1_000_000
    const store = new MemoryStore({ now: () => t })
    const e = entry('GET http://a:80/s', { expiresAt: t + 1000 })
    await store.put(e, chunks(Buffer.from('abc')))
    const first = store.getNow(e.key)!
    const second = store.getNow(e.key)!
    assert.equal(first.length, 1)
    assert.equal(first[0], second[0], 'no per-hit copy')
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first[0]) && Object.isFrozen(first[0]!.headers))
    assert.equal(first[0]!.bodyNow!()!.toString(), 'abc')
    assert.deepEqual((await store.get(e.key))!.map((x) => x.status), [200], 'get agrees')
    t += 1000
    assert.equal(store.getNow(e.key), undefined, 'expired')
  })

  it('an entry looked up before a replace no longer yields a body; one refreshed by updateMeta still does', async () => {
    const store = new MemoryStore({ now: () => 1_000_000 })
    const e = entry('GET http://a:80/r')
    await store.put(e, chunks(Buffer.from('one')))
    const before = store.getNow(e.key)![0]!
    await store.updateMeta({ ...e, headers: [['cache-control', 'max-age=99']] })
    const refreshed = store.getNow(e.key)![0]!
    assert.deepEqual(refreshed.headers, [['cache-control', 'max-age=99']])
    assert.equal(before.bodyNow!()!.toString(), 'one', 'same bytes after a 304 refresh')
    await store.put(e, chunks(Buffer.from('two')))
    assert.equal(before.bodyNow!(), undefined)
    assert.equal(await before.body(), undefined)
    assert.equal(store.getNow(e.key)![0]!.bodyNow!()!.toString(), 'two')
  })

  it('several variants of one key come back together', async () => {
    const store = new MemoryStore({ now: () => 1_000_000 })
    await store.put(entry('GET http://a:80/v', { variantKey: 'a' }), chunks(Buffer.from('a')))
    await store.put(entry('GET http://a:80/v', { variantKey: 'b' }), chunks(Buffer.from('b')))
    assert.deepEqual(store.getNow('GET http://a:80/v')!.map((x) => x.variantKey).sort(), ['a', 'b'])
  })

  it('keeps its own compact copy of a one-chunk body, never a view that pins a larger buffer', async () => {
    const store = new MemoryStore({ now: () => 1_000_000 })
    const read = Buffer.alloc(64 * 1024) // e.g. a whole socket read; the body is a view into its end
    read.write('body', read.length - 4)
    const e = entry('GET http://a:80/c')
    await store.put(e, chunks(read.subarray(read.length - 4)))
    const kept = store.getNow(e.key)![0]!.bodyNow!()!
    assert.equal(kept.toString(), 'body')
    assert.notEqual(kept.buffer, read.buffer)
  })
})

describe('readBody', () => {
  it('one Buffer: a single chunk as it is (no copy) unless asked to copy; undefined past the limit or when the body breaks off', async () => {
    const one = Buffer.from('whole')
    assert.equal(await readBody(chunks(one)), one)
    const copied = (await readBody(chunks(one), Infinity, true))!
    assert.ok(copied !== one && copied.equals(one))
    assert.equal((await readBody(chunks(Buffer.from('ab'), new Uint8Array([99]))))!.toString(), 'abc')
    assert.equal((await readBody(chunks()))!.length, 0)
    assert.equal(await readBody(chunks(Buffer.from('abc'), Buffer.from('d')), 3), undefined)
    assert.equal((await readBody(chunks(Buffer.from('abc')), 3))!.toString(), 'abc')
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('part')
      throw new Error('reset')
    }
    assert.equal(await readBody(broken()), undefined)
  })
})

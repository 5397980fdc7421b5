import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { fnv1a, premixKey, scoreHash, toUnitInterval } from '../../runtime/balancer/hash-key.js'

describe('hash-key', () => {
  it('fnv1a matches the reference FNV-1a 32 vectors, and hashes ranges in place', () => {
    assert.equal(fnv1a(''), 0x811c9dc5)
    assert.equal(fnv1a('a'), 0xe40c292c)
    assert.equal(fnv1a('foobar'), 0xbf9cf968)
    assert.equal(fnv1a('xxfoobaryy', 2, 8), fnv1a('foobar'))
  })

  it('scoreHash(premixKey(k), seed) is MurmurHash3 x86_32 of the 4-byte block k', () => {
    assert.equal(scoreHash(premixKey(0), 0), 0x2362f9de)
    assert.equal(scoreHash(premixKey(0x74736574), 0), 0xba6bd213) // "test", little-endian
    assert.equal(scoreHash(premixKey(0x74736574), 0x9747b28c), 0x704b81dc)
  })

  it('maps hashes into the open unit interval', () => {
    assert.ok(toUnitInterval(0) > 0)
    assert.ok(toUnitInterval(0xffffffff) < 1)
  })
})

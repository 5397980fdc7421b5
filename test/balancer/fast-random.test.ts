import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FastRandom } from '../../runtime/balancer/fast-random.js'
import { binomialTolerance } from './fixtures.js'

describe('FastRandom', () => {
  it('repeats a sequence for a seed and stays in [0, 1)', () => {
    const a = new FastRandom(7)
    const b = new FastRandom(7)
    for (let i = 0; i < 1_000; i++) {
      const x = a.next()
      assert.equal(x, b.next())
      assert.ok(x >= 0 && x < 1)
    }
  })

  it('fills ten buckets evenly', () => {
    const random = new FastRandom()
    const draws = 100_000
    const buckets = new Array<number>(10).fill(0)
    for (let i = 0; i < draws; i++) buckets[Math.floor(random.next() * 10)]!++
    for (const count of buckets) assert.ok(Math.abs(count - draws / 10) <= binomialTolerance(draws, 0.1), String(buckets))
  })
})

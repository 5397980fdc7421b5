import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Backoff } from '../../src/supervisor/backoff.js'

test('restart backoff: at once, then doubling to the cap; reset after a worker served long enough', () => {
  const b = new Backoff(1000, 8000, 10_000)
  assert.deepEqual([b.next(undefined), b.next(undefined), b.next(500), b.next(undefined), b.next(undefined), b.next(undefined)], [0, 1000, 2000, 4000, 8000, 8000])
  assert.equal(b.next(10_000), 0)
  assert.equal(b.next(undefined), 1000)
})

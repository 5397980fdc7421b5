import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ageHeaderValue, ageValue, correctedInitialAge, currentAge, DEFAULT_HEURISTIC_MAX_MS, freshnessLifetime,
} from '../../runtime/cache/freshness.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'

const T = Date.UTC(2026, 0, 1, 12, 0, 0) // response time
const date = formatHttpDate(T)
const life = (status: number, headers: Record<string, string>, opts = {}): ReturnType<typeof freshnessLifetime> =>
  freshnessLifetime({ status, headers }, T, opts)

describe('freshness lifetime (RFC 9111 §4.2.1)', () => {
  it('prefers s-maxage, then max-age, then Expires − Date', () => {
    const expires = formatHttpDate(T + 300_000)
    assert.deepEqual(life(200, { 'cache-control': 's-maxage=10, max-age=20', expires, date }), { lifetime: 10_000, source: 's-maxage' })
    assert.deepEqual(life(200, { 'cache-control': 'max-age=20', expires, date }), { lifetime: 20_000, source: 'max-age' })
    assert.deepEqual(life(200, { expires, date }), { lifetime: 300_000, source: 'expires' })
  })

  it('measures Expires against Date, not the local clock', () => {
    const origin = T - 3_600_000 // origin clock an hour behind
    const r = freshnessLifetime({ status: 200, headers: { date: formatHttpDate(origin), expires: formatHttpDate(origin + 60_000) } }, T)
    assert.equal(r.lifetime, 60_000)
  })

  it('uses the response time when Date is missing or invalid', () => {
    assert.equal(life(200, { expires: formatHttpDate(T + 5000) }).lifetime, 5000)
    assert.equal(life(200, { expires: formatHttpDate(T + 5000), date: 'garbage' }).lifetime, 5000)
  })

  it('treats an invalid Expires (e.g. "0") as already expired', () => {
    assert.deepEqual(life(200, { expires: '0', date, 'last-modified': formatHttpDate(T - 86_400_000) }), { lifetime: 0, source: 'expires' })
    assert.equal(life(200, { expires: formatHttpDate(T - 1000), date }).lifetime, 0)
  })

  it('heuristic: 10% of Date − Last-Modified, capped, for heuristically cacheable statuses only', () => {
    const lm = formatHttpDate(T - 10_000_000)
    assert.deepEqual(life(200, { date, 'last-modified': lm }), { lifetime: 1_000_000, source: 'heuristic' })
    assert.equal(life(404, { date, 'last-modified': lm }).lifetime, 1_000_000)
    assert.deepEqual(life(302, { date, 'last-modified': lm }), { lifetime: 0, source: 'none' })
    assert.equal(life(302, { date, 'last-modified': lm, 'cache-control': 'public' }).lifetime, 1_000_000)
    const old = formatHttpDate(T - 100 * 86_400_000)
    assert.equal(life(200, { date, 'last-modified': old }).lifetime, DEFAULT_HEURISTIC_MAX_MS)
    assert.equal(life(200, { date, 'last-modified': old }, { heuristicMaxMs: 5000 }).lifetime, 5000)
    assert.equal(life(200, { date }).lifetime, 0)
    assert.equal(life(200, { date, 'last-modified': formatHttpDate(T + 1000) }).lifetime, 0)
  })

  it('route ttl replaces heuristics but never explicit freshness', () => {
    assert.deepEqual(life(200, { date, 'last-modified': formatHttpDate(T - 10_000_000) }, { ttl: 42 }), { lifetime: 42, source: 'ttl' })
    assert.equal(life(200, { 'cache-control': 'max-age=1' }, { ttl: 42_000 }).lifetime, 1000)
  })

  it('route ttl only applies to heuristically cacheable statuses: never an error page or a 302', () => {
    assert.deepEqual(life(404, {}, { ttl: 42 }), { lifetime: 42, source: 'ttl' })
    for (const status of [302, 307, 500, 503]) assert.deepEqual(life(status, { 'cache-control': 'public' }, { ttl: 42 }), { lifetime: 0, source: 'none' })
    assert.equal(life(503, { 'cache-control': 'public', date, 'last-modified': formatHttpDate(T - 10_000_000) }, { ttl: 42 }).source, 'heuristic')
    assert.equal(life(503, { 'cache-control': 'max-age=5' }, { ttl: 42 }).lifetime, 5000)
  })
})

describe('age (RFC 9111 §4.2.3)', () => {
  it('is the resident time for a fresh response with no Age and no delays', () => {
    const s = { headers: { date }, requestTime: T, responseTime: T }
    assert.equal(correctedInitialAge(s), 0)
    assert.equal(currentAge(s, T + 7000), 7000)
  })

  it('adds the response delay to the incoming Age', () => {
    const s = { headers: { date, age: '30' }, requestTime: T - 2000, responseTime: T }
    // corrected_age_value = 30s + 2s; apparent_age = 0
    assert.equal(correctedInitialAge(s), 32_000)
    assert.equal(currentAge(s, T + 1000), 33_000)
  })

  it('takes the apparent age when the Date is older than Age suggests', () => {
    const s = { headers: { date: formatHttpDate(T - 100_000), age: '10' }, requestTime: T - 1000, responseTime: T }
    assert.equal(correctedInitialAge(s), 100_000)
  })

  it('never lets a future Date make the age negative, and ignores an invalid Age', () => {
    const s = { headers: { date: formatHttpDate(T + 50_000), age: 'abc' }, requestTime: T, responseTime: T }
    assert.equal(currentAge(s, T), 0)
  })

  it('serves Age as whole seconds capped at 2^31', () => {
    assert.equal(ageHeaderValue(1999), '1')
    assert.equal(ageHeaderValue(0), '0')
    assert.equal(ageHeaderValue(-5), '0')
    assert.equal(ageHeaderValue(1e20), '2147483648')
  })
})

describe('Age (RFC 9111 §5.1)', () => {
  it('takes the first member of a list, the first of repeated lines, and ignores an invalid value', () => {
    assert.equal(ageValue({ age: '7200, 0' }), 7_200_000)
    assert.equal(ageValue({ age: ['7200', '0'] }), 7_200_000)
    assert.equal(ageValue({ age: '60' }), 60_000)
    assert.equal(ageValue({ age: '-5' }), 0)
    assert.equal(ageValue({ age: '1.5' }), 0)
    assert.equal(ageValue({}), 0)
  })
})

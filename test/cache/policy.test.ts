// decide(): the lookup decision (RFC 9111 §4, §4.2.4, §5.2.1, §5.2.2; RFC 5861).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decide, formatHttpDate, type CacheOptions, type CachedResponse, type HeaderMap } from '../../runtime/cache/policy.js'

const T = Date.UTC(2026, 0, 1, 12)
function stored(headers: Record<string, string>, over: Partial<CachedResponse> = {}): CachedResponse {
  return { status: 200, headers: { date: formatHttpDate(T), ...headers }, requestTime: T, responseTime: T, variantKey: '', ...over }
}
const at = (s: number): number => T + s * 1000
function kind(e: CachedResponse | undefined, now: number, reqHeaders: HeaderMap = {}, opts: CacheOptions = {}, method = 'GET'): string {
  const d = decide({ method, headers: reqHeaders }, e ? [e] : [], now, opts)
  return d.kind === 'miss' || d.kind === 'revalidate' ? `${d.kind}:${d.fwd}` : d.kind
}
const cc60 = stored({ 'cache-control': 'max-age=60', etag: '"e"' })

describe('decide: freshness', () => {
  it('serves fresh, revalidates stale', () => {
    assert.equal(kind(cc60, at(59)), 'fresh')
    assert.equal(kind(cc60, at(60)), 'revalidate:stale')
  })

  it('reports age and remaining ttl', () => {
    const d = decide({ method: 'HEAD', headers: {} }, [stored({ 'cache-control': 'max-age=60', age: '10' })], at(5))
    assert.equal(d.kind, 'fresh')
    if (d.kind === 'fresh') {
      assert.equal(d.ageMs, 15_000)
      assert.equal(d.ttlMs, 45_000)
    }
  })

  it('decides the same for frozen entries (facts remembered per entry) as for fresh objects, per options', () => {
    const headers = [['date', formatHttpDate(T)], ['last-modified', formatHttpDate(T - 100_000)], ['vary', 'Accept']] as [string, string][]
    const make = (): CachedResponse => ({ status: 200, headers, requestTime: T, responseTime: T, variantKey: '[["accept","a"]]' })
    const frozen = Object.freeze({ ...make(), headers: Object.freeze(headers.map((h) => Object.freeze(h))) as unknown as [string, string][] })
    const cases: Array<[number, HeaderMap, CacheOptions]> = [
      [at(5), { accept: 'a' }, {}], [at(11), { accept: 'a' }, {}], [at(5), { accept: 'a' }, { ttl: 60_000 }],
      [at(59), { accept: 'a' }, { ttl: 60_000 }], [at(5), { accept: 'b' }, {}], [at(5), { accept: 'a', 'cache-control': 'max-age=1' }, {}],
    ]
    for (const [now, req, opts] of cases) {
      assert.deepEqual(decide({ method: 'GET', headers: req }, [frozen], now, opts), decide({ method: 'GET', headers: req }, [make()], now, opts))
      assert.deepEqual(decide({ method: 'GET', headers: req }, [frozen], now, opts), decide({ method: 'GET', headers: req }, [make()], now, opts), 'again, remembered')
    }
  })

  it('misses by URI, by Vary, and for other methods', () => {
    assert.equal(kind(undefined, T), 'miss:uri-miss')
    const v = stored({ 'cache-control': 'max-age=60', vary: 'accept' }, { variantKey: '[["accept","a"]]' })
    assert.equal(kind(v, T, { accept: 'b' }), 'miss:vary-miss')
    assert.equal(kind(v, T, { accept: 'a' }), 'fresh')
    assert.equal(kind(cc60, T, {}, {}, 'POST'), 'miss:method')
  })
})

describe('decide: response directives', () => {
  it('no-cache always revalidates; no-cache="field" is reusable (the field was never stored)', () => {
    assert.equal(kind(stored({ 'cache-control': 'no-cache, max-age=60', etag: '"e"' }), at(1)), 'revalidate:stale')
    assert.equal(kind(stored({ 'cache-control': 'No-Cache', etag: '"e"' }), at(1)), 'revalidate:stale')
    assert.equal(kind(stored({ 'cache-control': 'no-cache="x-a", max-age=60' }), at(1)), 'fresh')
  })

  it('must-revalidate, proxy-revalidate and s-maxage forbid serving stale, even when asked', () => {
    for (const cc of ['max-age=1, must-revalidate', 'max-age=1, proxy-revalidate', 's-maxage=1']) {
      const e = stored({ 'cache-control': `${cc}, stale-while-revalidate=99, stale-if-error=99` })
      assert.equal(kind(e, at(5), { 'cache-control': 'max-stale' }), 'revalidate:stale', cc)
      const d = decide({ method: 'GET', headers: {} }, [e], at(5))
      assert.ok(d.kind === 'revalidate' && !d.staleIfError, cc)
    }
  })

  it('stale-while-revalidate serves stale within the window and revalidates in the background', () => {
    const e = stored({ 'cache-control': 'max-age=10, stale-while-revalidate=20', etag: '"e"' })
    const d = decide({ method: 'GET', headers: {} }, [e], at(25))
    assert.equal(d.kind, 'stale-while-revalidate')
    if (d.kind === 'stale-while-revalidate') {
      assert.deepEqual(d.conditionalHeaders, { 'if-none-match': '"e"' })
      assert.equal(d.ttlMs, -15_000)
    }
    assert.equal(kind(e, at(31)), 'revalidate:stale')
    assert.equal(kind(stored({ 'cache-control': 'max-age=10' }), at(15), {}, { staleWhileRevalidate: 10_000 }), 'stale-while-revalidate')
  })

  it('stale-if-error is offered while inside the window (response, request or option)', () => {
    const sie = (e: CachedResponse, now: number, h: HeaderMap = {}, o: CacheOptions = {}): boolean => {
      const d = decide({ method: 'GET', headers: h }, [e], now, o)
      return d.kind === 'revalidate' && d.staleIfError
    }
    const e = stored({ 'cache-control': 'max-age=10, stale-if-error=60' })
    assert.ok(sie(e, at(30)))
    assert.ok(!sie(e, at(71)))
    assert.ok(sie(cc60, at(90), { 'cache-control': 'stale-if-error=60' }))
    assert.ok(sie(cc60, at(90), {}, { staleIfError: 60_000 }))
    assert.ok(!sie(cc60, at(90)))
  })
})

describe('decide: request directives (§5.2.1)', () => {
  it('no-cache and Pragma: no-cache force revalidation unless the route ignores them', () => {
    assert.equal(kind(cc60, at(1), { 'cache-control': 'no-cache' }), 'revalidate:request')
    assert.equal(kind(cc60, at(1), { pragma: 'no-cache' }), 'revalidate:request')
    assert.equal(kind(cc60, at(1), { 'cache-control': 'no-cache' }, { ignoreNoCache: true }), 'fresh')
  })

  it('max-age bounds the acceptable age', () => {
    assert.equal(kind(cc60, at(10), { 'cache-control': 'max-age=20' }), 'fresh')
    assert.equal(kind(cc60, at(30), { 'cache-control': 'max-age=20' }), 'revalidate:request')
    assert.equal(kind(cc60, at(1), { 'cache-control': 'max-age=0' }), 'revalidate:request')
  })

  it('min-fresh requires remaining freshness', () => {
    assert.equal(kind(cc60, at(30), { 'cache-control': 'min-fresh=20' }), 'fresh')
    assert.equal(kind(cc60, at(50), { 'cache-control': 'min-fresh=20' }), 'revalidate:request')
  })

  it('max-stale accepts stale responses, bounded by its value', () => {
    assert.equal(kind(cc60, at(70), { 'cache-control': 'max-stale=20' }), 'stale')
    assert.equal(kind(cc60, at(90), { 'cache-control': 'max-stale=20' }), 'revalidate:stale')
    assert.equal(kind(cc60, at(10_000), { 'cache-control': 'max-stale' }), 'stale')
  })

  it('only-if-cached answers from cache or asks for a 504', () => {
    assert.equal(kind(cc60, at(1), { 'cache-control': 'only-if-cached' }), 'fresh')
    assert.equal(kind(cc60, at(100), { 'cache-control': 'only-if-cached' }), 'only-if-cached')
    assert.equal(kind(undefined, T, { 'cache-control': 'only-if-cached' }), 'only-if-cached')
    assert.equal(kind(cc60, at(100), { 'cache-control': 'only-if-cached, max-stale' }), 'stale')
  })
})

describe('decide: revalidation requests', () => {
  it('carries conditional headers from the selected entry', () => {
    const e = stored({ 'cache-control': 'max-age=1', etag: '"v"', 'last-modified': formatHttpDate(T - 1000) })
    const d = decide({ method: 'GET', headers: { 'if-none-match': '"client"' } }, [e], at(5))
    assert.equal(d.kind, 'revalidate')
    if (d.kind === 'revalidate') {
      assert.deepEqual(d.conditionalHeaders, { 'if-none-match': '"v"', 'if-modified-since': formatHttpDate(T - 1000) })
      assert.equal(d.entry, e)
    }
  })
})

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatHttpDate } from '../../runtime/cache/http-date.js'
import type { HeaderMap } from '../../runtime/cache/headers.js'
import { headersToStore, isStorable, storeUntil, type NotStorableReason } from '../../runtime/cache/storable.js'
import type { CacheOptions } from '../../runtime/cache/cache-options.js'

const get = (headers: HeaderMap = {}): { method: string; headers: HeaderMap } => ({ method: 'GET', headers })
function reason(res: { status?: number; headers?: HeaderMap }, req = get(), opts: CacheOptions = {}): NotStorableReason | 'ok' {
  const r = isStorable(req, { status: res.status ?? 200, headers: res.headers ?? {} }, opts)
  return r.storable ? 'ok' : r.reason
}
const fresh = { 'cache-control': 'max-age=60' }

describe('isStorable for a shared cache (RFC 9111 §3)', () => {
  it('stores GET responses with explicit freshness', () => {
    assert.equal(reason({ headers: fresh }), 'ok')
    assert.equal(reason({ headers: { expires: formatHttpDate(Date.now() + 1000) } }), 'ok')
    assert.equal(reason({ headers: { 'cache-control': 's-maxage=5' } }), 'ok')
  })

  it('reads a two-digit year in Expires relative to the response time (RFC 9110 §5.6.7), not to 1970', () => {
    // Thursday, 18-Aug-50: 2050 from today, 1950 from 1970 (which made it expired and unstorable).
    assert.equal(reason({ headers: { expires: 'Thursday, 18-Aug-50 02:01:18 GMT' } }), 'ok')
  })

  it('only stores configured methods (GET by default; HEAD and POST are not stored)', () => {
    assert.equal(reason({ headers: fresh }, { method: 'HEAD', headers: {} }), 'method')
    assert.equal(reason({ headers: fresh }, { method: 'POST', headers: {} }), 'method')
  })

  it('refuses no-store in the request or the response', () => {
    assert.equal(reason({ headers: { 'cache-control': 'max-age=60, no-store' } }), 'no-store')
    assert.equal(reason({ headers: fresh }, get({ 'cache-control': 'no-store' })), 'request-no-store')
  })

  it('must-understand overrides no-store for understood statuses only', () => {
    assert.equal(reason({ headers: { 'cache-control': 'max-age=60, no-store, must-understand' } }), 'ok')
    assert.equal(reason({ status: 299, headers: { 'cache-control': 'max-age=60, no-store, must-understand' } }), 'status')
  })

  it('refuses non-final, partial and 304 statuses', () => {
    for (const status of [100, 206, 304]) assert.equal(reason({ status, headers: fresh }), 'status', String(status))
  })

  it('refuses private, but stores a private="field" response without that field', () => {
    assert.equal(reason({ headers: { 'cache-control': 'private, max-age=60' } }), 'private')
    const headers = { 'cache-control': 'private="x-user", max-age=60', 'x-user': 'alice', 'x-other': '1' }
    assert.equal(reason({ headers }), 'ok')
    assert.deepEqual(headersToStore(headers).map(([n]) => n), ['cache-control', 'x-other'])
  })

  it('with Authorization, needs public, s-maxage or must-revalidate (§3.5)', () => {
    const auth = get({ authorization: 'Bearer x' })
    assert.equal(reason({ headers: fresh }, auth), 'authorization')
    assert.equal(reason({ headers: { 'cache-control': 'public, max-age=60' } }, auth), 'ok')
    assert.equal(reason({ headers: { 'cache-control': 's-maxage=60' } }, auth), 'ok')
    assert.equal(reason({ headers: { 'cache-control': 'must-revalidate, max-age=60' } }, auth), 'ok')
  })

  it('refuses Set-Cookie unless allowed or excluded by no-cache="set-cookie"', () => {
    assert.equal(reason({ headers: { ...fresh, 'set-cookie': ['a=1'] } }), 'set-cookie')
    assert.equal(reason({ headers: { ...fresh, 'set-cookie': ['a=1'] } }, get(), { allowSetCookie: true }), 'ok')
    const h = { 'cache-control': 'max-age=60, no-cache="set-cookie"', etag: '"1"', 'set-cookie': 'a=1' }
    assert.equal(reason({ headers: h }), 'ok')
    assert.ok(!headersToStore(h).some(([n]) => n === 'set-cookie'))
  })

  it('never stores Vary: *', () => {
    assert.equal(reason({ headers: { ...fresh, vary: 'Accept, *' } }), 'vary-star')
  })

  it('needs explicit freshness or a heuristically cacheable status (a route ttl only applies to those)', () => {
    assert.equal(reason({ status: 302, headers: { etag: '"a"' } }), 'no-freshness')
    assert.equal(reason({ status: 302, headers: { etag: '"a"' } }, get(), { ttl: 1000 }), 'no-freshness')
    assert.equal(reason({ status: 503, headers: {} }, get(), { ttl: 1000 }), 'no-freshness')
    assert.equal(reason({ status: 404, headers: {} }, get(), { ttl: 1000 }), 'ok')
    assert.equal(reason({ status: 302, headers: { 'cache-control': 'public', etag: '"a"' } }), 'ok')
    assert.equal(reason({ status: 404, headers: { 'last-modified': formatHttpDate(Date.now() - 1e6) } }), 'ok')
  })

  it('does not store what could never be reused: no freshness and no validator', () => {
    assert.equal(reason({ status: 200, headers: {} }), 'no-freshness')
    assert.equal(reason({ status: 200, headers: { 'cache-control': 'max-age=0' } }), 'no-freshness')
    assert.equal(reason({ status: 200, headers: { 'cache-control': 'max-age=0' } }, get(), { staleIfError: 1000 }), 'ok')
    assert.equal(reason({ status: 200, headers: { etag: '"x"' } }), 'ok')
    assert.equal(reason({ status: 200, headers: {} }, get(), { ttl: 5000 }), 'ok')
    assert.equal(reason({ headers: { 'cache-control': 'no-cache, max-age=60' } }), 'no-freshness')
    assert.equal(reason({ headers: { 'cache-control': 'no-cache', etag: '"v"' } }), 'ok')
  })

  it('refuses a declared Content-Length over maxObjectSize', () => {
    assert.equal(reason({ headers: { ...fresh, 'content-length': '2000' } }, get(), { maxObjectSize: 1000 }), 'too-large')
  })
})

describe('headersToStore (RFC 9111 §3.1)', () => {
  it('drops hop-by-hop, Connection-nominated and proxy-specific fields, keeps the rest in order', () => {
    const stored = headersToStore([
      ['Content-Type', 'text/html'],
      ['Connection', 'keep-alive, X-Hop'],
      ['Keep-Alive', 'timeout=5'],
      ['X-Hop', '1'],
      ['Transfer-Encoding', 'chunked'],
      ['Proxy-Authenticate', 'Basic'],
      ['Age', '3'],
      ['X-Keep', 'a'],
      ['X-Keep', 'b'],
    ])
    assert.deepEqual(stored, [['Content-Type', 'text/html'], ['Age', '3'], ['X-Keep', 'a'], ['X-Keep', 'b']])
  })
})

describe('storeUntil', () => {
  const T = 1_700_000_000_000
  it('is freshness plus the longest stale window, plus revalidation time for validators', () => {
    const base = { status: 200, requestTime: T, responseTime: T }
    assert.equal(storeUntil({ ...base, headers: { 'cache-control': 'max-age=10' } }), T + 10_000)
    assert.equal(storeUntil({ ...base, headers: { 'cache-control': 'max-age=10, stale-while-revalidate=5, stale-if-error=20' } }), T + 30_000)
    assert.equal(storeUntil({ ...base, headers: { 'cache-control': 'max-age=10', etag: '"e"' } }, { keepStaleForRevalidation: 1000 }), T + 11_000)
    assert.equal(storeUntil({ ...base, headers: { 'cache-control': 'max-age=10', age: '4' } }), T + 6000)
  })
})

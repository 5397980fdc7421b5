import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_DELTA_SECONDS, parseCacheControl, requestCacheControl, responseCacheControl } from '../../runtime/cache/cache-control.js'
import { parseDictionary } from '../../runtime/cache/structured-dictionary.js'
import { freshnessLifetime } from '../../runtime/cache/freshness.js'
import { isStorable } from '../../runtime/cache/storable.js'
import { parseHttpDate } from '../../runtime/cache/http-date.js'

describe('Cache-Control parsing (RFC 9111 §5.2)', () => {
  it('parses numbers, flags, case-insensitive names, token and quoted arguments', () => {
    assert.deepEqual(parseCacheControl('Max-Age=60, s-maxage="120", PUBLIC, must-revalidate'), {
      maxAge: 60, sMaxAge: 120, public: true, mustRevalidate: true,
    })
    assert.deepEqual(parseCacheControl('stale-while-revalidate=30, stale-if-error=600, immutable'), {
      staleWhileRevalidate: 30, staleIfError: 600, immutable: true,
    })
  })

  it('combines multiple field lines', () => {
    assert.deepEqual(parseCacheControl(['max-age=5', 'no-transform']), { maxAge: 5, noTransform: true })
  })

  it('uses the first occurrence of a duplicated directive', () => {
    assert.equal(parseCacheControl('max-age=10, max-age=99').maxAge, 10)
    assert.equal(parseCacheControl(['max-age=10', 'max-age=0']).maxAge, 10)
  })

  it('treats invalid max-age / s-maxage as 0 (stale) and ignores other invalid numbers', () => {
    for (const v of ['max-age=abc', 'max-age=-1', 'max-age=1.5', 'max-age', 'max-age =5', 'max-age= 5', 'max-age=""']) {
      assert.equal(parseCacheControl(v).maxAge, 0, v)
    }
    assert.equal(parseCacheControl('s-maxage=x').sMaxAge, 0)
    assert.equal(parseCacheControl('min-fresh=x').minFresh, undefined)
    assert.equal(parseCacheControl('stale-while-revalidate=x').staleWhileRevalidate, undefined)
  })

  it('caps delta-seconds at 2^31 (§1.2.2)', () => {
    assert.equal(parseCacheControl('max-age=99999999999999999999').maxAge, MAX_DELTA_SECONDS)
  })

  it('max-stale without a value means any staleness', () => {
    assert.equal(parseCacheControl('max-stale').maxStale, Infinity)
    assert.equal(parseCacheControl('max-stale=30').maxStale, 30)
  })

  it('parses qualified no-cache and private field lists, quoted commas included', () => {
    assert.deepEqual(parseCacheControl('no-cache="Set-Cookie, X-Foo", max-age=3').noCache, ['set-cookie', 'x-foo'])
    assert.equal(parseCacheControl('no-cache="Set-Cookie, X-Foo", max-age=3').maxAge, 3)
    assert.deepEqual(parseCacheControl('private=x-a, private="x-b"').private, ['x-a', 'x-b'])
    assert.equal(parseCacheControl('no-cache, no-cache="x"').noCache, true)
    assert.equal(parseCacheControl('no-cache').noCache, true)
    assert.equal(parseCacheControl('no-cache=""').noCache, true)
  })

  it('keeps restrictive directives even when malformed, ignores malformed permissive ones', () => {
    assert.equal(parseCacheControl('no-store=1').noStore, true)
    assert.equal(parseCacheControl('no-cache="unterminated').noCache, true)
    assert.equal(parseCacheControl('public=1').public, undefined)
  })

  it('ignores unknown directives, empty members and stray commas', () => {
    assert.deepEqual(parseCacheControl(',, foo=bar, bar="a,b",, max-age=7 ,'), { maxAge: 7 })
  })

  it('reads Pragma: no-cache only when the request has no Cache-Control (§5.4)', () => {
    assert.equal(requestCacheControl({ pragma: 'no-cache' }).noCache, true)
    assert.equal(requestCacheControl({ pragma: 'no-cache', 'cache-control': 'max-age=5' }).noCache, undefined)
    assert.equal(requestCacheControl([['Pragma', 'foo, No-Cache']]).noCache, true)
    assert.equal(requestCacheControl({}).noCache, undefined)
  })
})

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37)
  it('accepts the three formats', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t)
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1)), t)
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), t)
  })
  it('rejects anything else', () => {
    for (const v of ['0', '-1', '', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 31 Feb 1994 08:49:37 GMT', '1994-11-06']) {
      assert.equal(parseHttpDate(v), undefined, v)
    }
  })
})

describe('targeted cache control: CDN-Cache-Control (RFC 9213), Surrogate-Control', () => {
  it('parses Structured Field Dictionaries strictly (RFC 8941 §4.2.2)', () => {
    assert.deepEqual([...parseDictionary('max-age=60, private, a="x y";p=1, b=?0, c=(1 "two"), d=1.5, e=:YWJj:, f=tok/en')!], [
      ['max-age', 60], ['private', true], ['a', 'x y'], ['b', false], ['c', [1, 'two']], ['d', 1.5], ['e', 'YWJj'], ['f', 'tok/en'],
    ])
    assert.deepEqual([...parseDictionary('a=1, a=2')!], [['a', 2]]) // the last wins
    assert.equal(parseDictionary('')!.size, 0)
    for (const bad of ['max-age =1', 'max-age= 1', 'MaX-aGe=1', 'max-age=1, &&&', 'a=1,', 'a="unterminated', 'a=1234567890123456', 'a=?2', '1a=1']) {
      assert.equal(parseDictionary(bad), undefined, bad)
    }
  })

  it('CDN-Cache-Control, when valid and not empty, replaces Cache-Control and Expires', () => {
    const date = 'Thu, 01 Jan 2026 12:00:00 GMT'
    const T = parseHttpDate(date)!
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'max-age=3600', 'cache-control': 'no-store' }), { targeted: true, maxAge: 3600 })
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'private', 'cache-control': 'max-age=100' }), { targeted: true, private: true })
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'max-age=99999999999' }), { targeted: true, maxAge: MAX_DELTA_SECONDS })
    // A directive of the wrong type is ignored; an invalid field is not used at all.
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'max-age="10", no-store' }), { targeted: true, noStore: true })
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'max-age=10, &&&', 'cache-control': 'no-store' }), { noStore: true })
    // One with no directive the cache uses (an extension, a typo, a wrong type) is not used either.
    for (const cdn of ['foo', 'maxage=60', 'max-age="60"']) {
      assert.deepEqual(responseCacheControl({ 'cdn-cache-control': cdn, 'cache-control': 'private' }), { private: true }, cdn)
    }
    // Expires is not read beside it.
    const headers = { 'cdn-cache-control': 'max-age=0', expires: 'Thu, 01 Jan 2026 13:00:00 GMT', date }
    assert.equal(freshnessLifetime({ status: 200, headers }, T, {}, responseCacheControl(headers)).lifetime, 0)
    assert.equal(isStorable({ method: 'GET', headers: {} }, { status: 200, headers: { 'cdn-cache-control': 'max-age=600', 'cache-control': 'no-store' } }).storable, true)
    assert.equal(isStorable({ method: 'GET', headers: {} }, { status: 200, headers: { 'cdn-cache-control': 'no-store', 'cache-control': 'max-age=600' } }).storable, false)
  })

  it('Surrogate-Control: max-age (with +stale) and no-store, case-insensitive; ;name-targeted members and content-only fields are not for this cache', () => {
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'MaX-aGe=60', 'cache-control': 'max-age=1' }), { targeted: true, maxAge: 60 })
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'max-age=60+30, content="ESI/1.0"' }), { targeted: true, maxAge: 60, staleIfError: 30 })
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'no-store', 'cache-control': 'max-age=100' }), { targeted: true, noStore: true })
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'no-store;abc, content="ESI/1.0"', 'cache-control': 'max-age=100' }), { maxAge: 100 })
    // Targeted at this cache by its device token (announced upstream in Surrogate-Capability).
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'max-age=60;switchyard', 'cache-control': 'no-store' }), { targeted: true, maxAge: 60 })
    assert.deepEqual(responseCacheControl({ 'surrogate-control': 'max-age=60;other', 'cache-control': 'no-store' }), { noStore: true })
    // CDN-Cache-Control comes first.
    assert.deepEqual(responseCacheControl({ 'cdn-cache-control': 'max-age=5', 'surrogate-control': 'max-age=60' }), { targeted: true, maxAge: 5 })
  })
})

// Cache key, invalidation URIs (RFC 9111 §4.4) and Cache-Status (RFC 9211).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { appendCacheStatus, cacheStatus, hitStatus } from '../../runtime/cache/cache-status.js'
import { cacheKeyForUrl, defaultCacheKey, httpGetKey } from '../../runtime/cache/cache-key.js'
import { invalidationReferences } from '../../runtime/cache/invalidation.js'

describe('defaultCacheKey', () => {
  it('normalises method, scheme, host case and default ports; HEAD shares the GET key', () => {
    const k = defaultCacheKey({ method: 'get', scheme: 'HTTPS', host: 'Example.COM', path: '/a', query: 'x=1' })
    assert.equal(k, 'GET https://example.com:443/a?x=1')
    assert.equal(defaultCacheKey({ method: 'HEAD', scheme: 'https', host: 'example.com:443', path: '/a', query: 'x=1' }), k)
    assert.equal(defaultCacheKey({ method: 'GET', scheme: 'http', host: 'example.com:8080', path: '/' }), 'GET http://example.com:8080/')
    assert.equal(defaultCacheKey({ method: 'GET', scheme: 'http', host: '[::1]:81', path: '/' }), 'GET http://[::1]:81/')
    assert.equal(cacheKeyForUrl('GET', 'https://EXAMPLE.com/a?x=1#frag'), k)
  })

  it('httpGetKey (the per-request fast path) is defaultCacheKey of a GET over http', () => {
    for (const host of ['Example.COM', 'example.com:8080', 'example.com.', '[::1]:81', '', 'a:']) {
      for (const [path, query] of [['/a', 'x=1'], ['', ''], ['/b/', '']] as const) {
        assert.equal(httpGetKey(host, path, query), defaultCacheKey({ method: 'GET', scheme: 'http', host, path, query }), `${host} ${path}?${query}`)
        assert.equal(httpGetKey(host, path, query), defaultCacheKey({ method: 'HEAD', scheme: 'http', host, path, query }))
      }
    }
  })

  it('keeps distinct queries and paths distinct', () => {
    const base = { method: 'GET', scheme: 'http', host: 'h', path: '/a' }
    assert.notEqual(defaultCacheKey({ ...base, query: 'a=1' }), defaultCacheKey({ ...base, query: 'a=2' }))
    assert.notEqual(defaultCacheKey(base), defaultCacheKey({ ...base, path: '/A' }))
  })
})

describe('invalidationReferences (RFC 9111 §4.4)', () => {
  const req = { scheme: 'https', host: 'example.com', path: '/items/1', query: 'x' }
  it('resolves same-origin Location and Content-Location to origin-form targets', () => {
    assert.deepEqual(invalidationReferences(req, { location: '/items/2', 'content-location': 'https://EXAMPLE.com:443/items/1/v2#f' }), ['/items/2', '/items/1/v2'])
    assert.deepEqual(invalidationReferences(req, { location: 'v3?a=1' }), ['/items/v3?a=1'])
    assert.deepEqual(invalidationReferences(req, { location: '?page=2' }), ['/items/1?page=2'])
    assert.deepEqual(invalidationReferences(req, { location: '//example.com/z' }), ['/z'])
    assert.deepEqual(invalidationReferences(req, { location: '/items/1?x', 'content-location': '/items/1?x' }), ['/items/1?x'])
  })

  it('keeps the raw text: no re-encoding of the query, no decoding of the path (canonicalize does that)', () => {
    assert.deepEqual(invalidationReferences(req, { location: `/list?filter={"a":1}&q='x'<>` }), [`/list?filter={"a":1}&q='x'<>`])
    assert.deepEqual(invalidationReferences(req, { location: 'https://example.com/%7Euser' }), ['/%7Euser'])
  })

  it('never another origin', () => {
    const other = ['https://evil.example/x', 'http://example.com/items/1', 'https://example.com:8443/x', '//evil.example/x', 'mailto:a@example.com', 'https:/x']
    for (const location of other) assert.deepEqual(invalidationReferences(req, { location }), [], location)
    assert.deepEqual(invalidationReferences({ ...req, host: '' }, { location: 'https://example.com/x' }), [])
  })
})

describe('cacheKeyForUrl', () => {
  it('keys a URL as a request for it is looked up: raw query, canonical path', () => {
    assert.equal(cacheKeyForUrl('GET', `http://a.test/list?filter={"a":1}`), httpGetKey('a.test', '/list', 'filter={"a":1}'))
    assert.equal(cacheKeyForUrl('GET', 'http://a.test:80/%7Eu/./x/../y?q'), httpGetKey('a.test', '/~u/y', 'q'))
    assert.equal(cacheKeyForUrl('GET', 'https://a.test'), httpGetKey('a.test', '/', '', 'https'))
  })
})

describe('Cache-Status (RFC 9211)', () => {
  it('serialises hits, misses and forwards', () => {
    assert.equal(cacheStatus({ hit: true, ttlMs: 120_400 }), 'switchyard; hit; ttl=120')
    assert.equal(cacheStatus({ fwd: 'uri-miss', stored: true }), 'switchyard; fwd=uri-miss; stored')
    assert.equal(cacheStatus({ fwd: 'stale', fwdStatus: 304, ttlMs: -1500 }), 'switchyard; fwd=stale; fwd-status=304; ttl=-2')
    assert.equal(cacheStatus({ fwd: 'vary-miss' }), 'switchyard; fwd=vary-miss')
    assert.equal(cacheStatus({ fwd: 'request', fwdStatus: 200 }), 'switchyard; fwd=request; fwd-status=200')
    assert.equal(cacheStatus({ fwd: 'bypass', detail: 'set-cookie' }), 'switchyard; fwd=bypass; detail=set-cookie')
  })

  it('hitStatus is cacheStatus of a hit', () => {
    for (const ttlMs of [120_400, 0, 999, -1, -1500, 3_600_000]) assert.equal(hitStatus(ttlMs), cacheStatus({ hit: true, ttlMs }))
  })

  it('quotes keys and non-token details', () => {
    assert.equal(cacheStatus({ hit: true, key: 'GET http://a/"q"' }), 'switchyard; hit; key="GET http://a/\\"q\\""')
    assert.equal(cacheStatus({ fwd: 'miss', detail: 'store down' }), 'switchyard; fwd=miss; detail="store down"')
    assert.equal(cacheStatus({ fwd: 'miss', detail: '1x' }), 'switchyard; fwd=miss; detail="1x"')
  })

  it('appends after upstream caches', () => {
    assert.equal(appendCacheStatus('OriginCache; hit', 'switchyard; hit'), 'OriginCache; hit, switchyard; hit')
    assert.equal(appendCacheStatus(undefined, 'switchyard; hit'), 'switchyard; hit')
    assert.equal(appendCacheStatus(['a; hit', 'b; fwd=miss'], 'switchyard; hit'), 'a; hit, b; fwd=miss, switchyard; hit')
  })
})

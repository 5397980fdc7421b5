// Client preconditions on a caching route (RFC 9110 §13, RFC 9111 §4.3): the cache never sends
// a client's If-None-Match / If-Modified-Since upstream — a miss, a revalidation or a refresh
// asks for the full response, which is stored — and answers them itself (304), from a hit or
// from the response being stored. If-Match / If-Unmodified-Since are the origin's to evaluate:
// such a request goes there as it is.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { http } from '../helpers/servers.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'
import { cachedRoute, clock, countingBackend, validatingBackend } from './cache-proxy.js'

const PRECONDITIONS = ['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since']

test('conditional misses on a cold cache fill it: the origin gets no client conditional, the client its 304', async (t) => {
  const c = clock()
  const backend = await validatingBackend(c)
  const proxy = await cachedRoute(t, backend, c)
  const first = await http(proxy.url + '/p', { headers: { 'if-none-match': '"v1"', 'if-modified-since': formatHttpDate(c.now) } })
  assert.equal(first.status, 304)
  assert.equal(first.body.length, 0)
  assert.equal(first.headers.etag, '"v1"')
  assert.equal(first.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; stored')
  for (let i = 0; i < 2; i++) {
    const again = await http(proxy.url + '/p', { headers: { 'if-none-match': '"v1"' } })
    assert.equal(again.status, 304)
    assert.equal(again.headers['cache-status'], 'switchyard; hit; ttl=10')
  }
  // A conditional that does not match gets the stored body.
  const other = await http(proxy.url + '/p', { headers: { 'if-none-match': '"v0"' } })
  assert.deepEqual([other.status, other.body.toString()], [200, 'the body'])
  assert.equal(backend.seen.length, 1)
  for (const name of PRECONDITIONS) assert.equal(backend.seen[0]!.headers[name], undefined, name)
})

test('a conditional miss whose answer is not stored gets the full response', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'no-store')
    res.setHeader('etag', '"v1"')
    res.end('private')
  })
  const proxy = await cachedRoute(t, backend, c)
  const r = await http(proxy.url + '/n', { headers: { 'if-none-match': '"v1"' } })
  assert.deepEqual([r.status, r.body.toString()], [200, 'private'])
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; detail=no-store')
  assert.equal(backend.seen[0]!.headers['if-none-match'], undefined)
})

test('If-Match and If-Unmodified-Since are not evaluated by the cache (RFC 9111 §4.3.2): the request goes to the origin as it is, uncached', async (t) => {
  const c = clock()
  const lastModified = c.now - 60_000
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"v1"')
    res.setHeader('last-modified', formatHttpDate(lastModified))
    // The origin evaluates If-Match.
    const ifMatch = req.headers['if-match']
    if (ifMatch !== undefined && ifMatch !== '*' && !ifMatch.split(',').map((s) => s.trim()).includes('"v1"')) {
      res.statusCode = 412
      return res.end()
    }
    res.end('doc')
  })
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/d') // stored
  const cases: Array<[Record<string, string>, number]> = [
    [{ 'if-match': '"v0"' }, 412],
    [{ 'if-match': '"v1"' }, 200],
    [{ 'if-unmodified-since': formatHttpDate(lastModified - 1000) }, 200], // this origin ignores it
    [{ 'if-match': '"v0"', 'if-none-match': '"v1"' }, 412],
  ]
  for (const [headers, status] of cases) {
    const r = await http(proxy.url + '/d', { headers })
    const label = JSON.stringify(headers)
    assert.equal(r.status, status, label)
    assert.equal(r.headers['cache-status'], 'switchyard; fwd=bypass; detail=precondition', label)
  }
  assert.equal(backend.seen.length, 1 + cases.length)
  for (let i = 0; i < cases.length; i++) {
    for (const [name, value] of Object.entries(cases[i]![0])) assert.equal(backend.seen[i + 1]!.headers[name], value, name)
  }
  // The stored entry is still served to requests without them.
  assert.match((await http(proxy.url + '/d')).headers['cache-status'] as string, /^switchyard; hit/)
})

test('a revalidation sends only the cache validators; the client conditional is answered from the refreshed entry', async (t) => {
  const c = clock()
  const backend = await validatingBackend(c)
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/r')
  c.advance(11_000)
  const r = await http(proxy.url + '/r', { headers: { 'if-modified-since': formatHttpDate(c.now), 'if-none-match': '"zz", "v1"' } })
  assert.equal(r.status, 304)
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=304; ttl=10; stored')
  const sent = backend.seen[1]!.headers
  assert.deepEqual([sent['if-none-match'], sent['if-modified-since']], ['"v1"', undefined])
  c.advance(11_000)
  const plain = await http(proxy.url + '/r', { headers: { 'if-none-match': '"v1"' } })
  assert.equal(plain.status, 304)
  assert.equal(plain.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=304; ttl=10; stored')
})

test('a background refresh (stale-while-revalidate) sends only the cache validators', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=10, stale-while-revalidate=30')
    res.setHeader('etag', '"v1"')
    if (req.headers['if-none-match'] === '"v1"') {
      res.statusCode = 304
      return res.end()
    }
    res.end('swr')
  })
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/s')
  c.advance(15_000)
  const stale = await http(proxy.url + '/s', { headers: { 'if-none-match': '"zz"', 'if-modified-since': formatHttpDate(c.now - 3_600_000) } })
  assert.deepEqual([stale.status, stale.body.toString()], [200, 'swr'])
  assert.match(stale.headers['cache-status'] as string, /detail=stale-while-revalidate/)
  await proxy.runtime.cache.settled()
  const sent = backend.seen[1]!.headers
  assert.deepEqual([sent['if-none-match'], sent['if-modified-since']], ['"v1"', undefined])
  assert.equal((await http(proxy.url + '/s')).headers['cache-status'], 'switchyard; hit; ttl=10')
})

test('a 304 that selects no stored variant: an unconditional fetch, never a bare 304 to a plain GET', async (t) => {
  const c = clock()
  // Variants by Accept-Language; the origin's 304 carries neither ETag nor Last-Modified.
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    if (req.headers['if-none-match'] !== undefined) {
      res.statusCode = 304
      return res.end()
    }
    res.setHeader('etag', '"v1"')
    res.setHeader('vary', 'accept-language')
    res.end(`body for ${req.headers['accept-language']}`)
  })
  const proxy = await cachedRoute(t, backend, c)
  for (const lang of ['en', 'fr']) await http(proxy.url + '/p', { headers: { 'accept-language': lang } })
  c.advance(20_000)
  const r = await http(proxy.url + '/p', { headers: { 'accept-language': 'en' } })
  assert.deepEqual([r.status, r.body.toString()], [200, 'body for en'])
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=200; stored')
  assert.deepEqual(backend.seen.map((s) => s.headers['if-none-match'] ?? '-'), ['-', '-', '"v1"', '-'])
  assert.match((await http(proxy.url + '/p', { headers: { 'accept-language': 'en' } })).headers['cache-status'] as string, /^switchyard; hit/)
})

test('a weak 304 that freshens another variant (later Date) refetches the one asked for', async (t) => {
  const c = clock()
  // nginx gzip style: a strong ETag on one variant, the weak form of it on the other.
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('vary', 'accept-encoding')
    if (req.headers['if-none-match'] !== undefined) {
      res.statusCode = 304
      res.setHeader('etag', 'W/"abc"')
      return res.end()
    }
    const gzip = req.headers['accept-encoding'] === 'gzip'
    res.setHeader('etag', gzip ? 'W/"abc"' : '"abc"')
    res.end(gzip ? 'zipped' : 'plain')
  })
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/g', { headers: { 'accept-encoding': 'identity' } })
  c.advance(1000)
  await http(proxy.url + '/g', { headers: { 'accept-encoding': 'gzip' } })
  c.advance(20_000)
  const r = await http(proxy.url + '/g', { headers: { 'accept-encoding': 'identity' } })
  assert.deepEqual([r.status, r.body.toString()], [200, 'plain'])
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=200; stored')
  assert.equal(backend.seen.length, 4)
})

test('misses unstorable for request reasons (no-store, Authorization) do not switch coalescing off for the key', async (t) => {
  const c = clock()
  const held: Array<() => void> = []
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    held.push(() => res.end('shared'))
  })
  const proxy = await cachedRoute(t, backend, c)
  for (const headers of [{ 'cache-control': 'no-store' }, { authorization: 'Basic eDp5' }]) {
    const alone = http(proxy.url + '/k', { headers })
    while (held.length === 0) await new Promise((r) => setImmediate(r))
    held.shift()!()
    assert.match((await alone).headers['cache-status'] as string, /detail=(request-no-store|authorization)$/)
  }
  const all = Promise.all(Array.from({ length: 5 }, () => http(proxy.url + '/k')))
  // Every client has either reached the origin or is waiting for the leader.
  while (backend.seen.length - 2 + proxy.runtime.cache.waiting < 5) await new Promise((r) => setImmediate(r))
  for (const release of held.splice(0)) release()
  const results = await all
  assert.equal(backend.seen.length, 3, 'one upstream request for the five')
  assert.equal(results.filter((r) => /collapsed/.test(r.headers['cache-status'] as string)).length, 4)
})

test('a conditional miss answered 304 at once stops the upstream when the body turns out too large to store', async (t) => {
  const c = clock()
  const total = 64 * 1024 * 1024
  let closedAfter: number | undefined
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"big"')
    const chunk = Buffer.alloc(64 * 1024)
    let sent = 0
    res.on('close', () => (closedAfter = sent))
    const more = (): void => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', more)
      }
      res.end()
    }
    more()
  })
  const proxy = await cachedRoute(t, backend, c, { maxObjectSize: '256kb' })
  const r = await http(proxy.url + '/big', { headers: { 'if-none-match': '"big"' } })
  assert.equal(r.status, 304)
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; stored')
  while (closedAfter === undefined) await new Promise((resolve) => setImmediate(resolve))
  assert.ok(closedAfter < total, `the upstream was stopped (after ${closedAfter} bytes)`)
  const again = await http(proxy.url + '/big', { headers: { 'if-none-match': '"big"' } })
  assert.match(again.headers['cache-status'] as string, /^switchyard; fwd=uri-miss/, 'nothing was stored')
})

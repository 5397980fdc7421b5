// The cache layer end to end through the proxy: what is stored, for how long, with which Age.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatHttpDate } from '../../runtime/cache/http-date.js'
import { http } from '../helpers/servers.js'
import { cachedRoute, clock, countingBackend } from './cache-proxy.js'

test('freshness from each source: s-maxage, max-age, Expires, route ttl, heuristic', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    const now = c.now
    const h: Record<string, string> = {
      '/smaxage': 's-maxage=10, max-age=1000',
      '/maxage': 'max-age=10',
      '/plain': '',
    }
    if (req.url === '/expires') res.setHeader('expires', formatHttpDate(now + 10_000))
    else if (req.url === '/heuristic') res.setHeader('last-modified', formatHttpDate(now - 100_000)) // 10% of 100 s
    else if (h[req.url!]) res.setHeader('cache-control', h[req.url!]!)
    res.end(`body ${req.url}`)
  })
  const proxy = await cachedRoute(t, backend, c, { ttl: '10s' })
  const paths = ['/smaxage', '/maxage', '/expires', '/plain', '/heuristic']
  for (const p of paths) assert.match((await http(proxy.url + p)).headers['cache-status'] as string, /fwd=uri-miss; fwd-status=200; stored/)
  c.advance(9000)
  for (const p of paths) {
    const r = await http(proxy.url + p)
    assert.equal(r.headers['cache-status'], 'switchyard; hit; ttl=1', p)
    assert.equal(r.headers.age, '9', p)
    assert.equal(r.body.toString(), `body ${p}`)
  }
  assert.equal(backend.seen.length, 5)
  c.advance(2000)
  // Without a validator an entry is dropped once stale (uri-miss); with one it is revalidated.
  for (const p of paths) assert.match((await http(proxy.url + p)).headers['cache-status'] as string, /fwd=(uri-miss|stale)/, p)
  assert.equal(backend.seen.length, 10)
})

test('heuristic freshness (10% of Date − Last-Modified) when the route sets no ttl', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('last-modified', formatHttpDate(c.now - 200_000))
    res.end('h')
  })
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/h')
  c.advance(19_000)
  assert.equal((await http(proxy.url + '/h')).headers['cache-status'], 'switchyard; hit; ttl=1')
  c.advance(2000)
  const stale = await http(proxy.url + '/h')
  assert.match(stale.headers['cache-status'] as string, /fwd=stale; fwd-status=200/)
  assert.equal(backend.seen[1]!.headers['if-modified-since'], formatHttpDate(c.now - 21_000 - 200_000))
})

test('Age: incoming Age honoured, resident time added, Date never rewritten', async (t) => {
  const c = clock()
  const origDate = formatHttpDate(c.now)
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('date', origDate)
    res.setHeader('age', '10')
    res.setHeader('cache-control', 'max-age=60')
    res.end('x')
  })
  const proxy = await cachedRoute(t, backend, c)
  const first = await http(proxy.url + '/a')
  assert.equal(first.headers.age, '10')
  c.advance(5000)
  const hit = await http(proxy.url + '/a')
  assert.equal(hit.headers.age, '15')
  assert.equal(hit.headers.date, origDate)
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=45')
  // 50 s of resident time + 10 s of initial age = stale at 60 s.
  c.advance(45_500)
  assert.match((await http(proxy.url + "/a")).headers["cache-status"] as string, /fwd=uri-miss/)
})

test('Vary: one entry per variant, matched on the nominated request fields', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('vary', 'Accept-Language')
    res.end(`lang ${req.headers['accept-language'] ?? 'none'}`)
  })
  const proxy = await cachedRoute(t, backend, c)
  const get = (lang?: string) => http(proxy.url + '/v', { headers: lang ? { 'accept-language': lang } : {} })
  assert.equal((await get('en')).body.toString(), 'lang en')
  assert.match((await get('fr')).headers['cache-status'] as string, /fwd=vary-miss/)
  assert.equal((await get()).body.toString(), 'lang none')
  const en = await get('en')
  assert.equal(en.headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.equal(en.body.toString(), 'lang en')
  assert.equal((await get('fr')).body.toString(), 'lang fr')
  assert.equal((await get()).body.toString(), 'lang none')
  assert.equal(backend.seen.length, 3)
})

test('not stored: Authorization, Set-Cookie, private, no-store, no-cache request directive; Vary: *', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', req.url === '/private' ? 'private, max-age=60' : req.url === '/nostore' ? 'no-store' : 'max-age=60')
    if (req.url === '/cookie') res.setHeader('set-cookie', 'a=1')
    if (req.url === '/varystar') res.setHeader('vary', '*')
    res.end('x')
  })
  const proxy = await cachedRoute(t, backend, c)
  const cases: Array<[string, Record<string, string>, string]> = [
    ['/auth', { authorization: 'Bearer x' }, 'authorization'],
    ['/cookie', {}, 'set-cookie'],
    ['/private', {}, 'private'],
    ['/nostore', {}, 'no-store'],
    ['/reqnostore', { 'cache-control': 'no-store' }, 'request-no-store'],
    ['/varystar', {}, 'vary-star'],
  ]
  for (const [path, headers, detail] of cases) {
    for (let i = 0; i < 2; i++) {
      const r = await http(proxy.url + path, { headers })
      assert.equal(r.status, 200)
      assert.equal(r.headers['cache-status'], `switchyard; fwd=uri-miss; fwd-status=200; detail=${detail}`, path)
    }
  }
  assert.equal(backend.seen.length, cases.length * 2)
})

test('allowSetCookie stores responses with Set-Cookie; route tags and maxObjectSize', async (t) => {
  const c = clock()
  const big = Buffer.alloc(4096, 1)
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    if (req.url === '/cookie') res.setHeader('set-cookie', 'a=1')
    if (req.url === '/big') return res.end(big)
    if (req.url === '/big-chunked') {
      res.write(big.subarray(0, 2048))
      return setImmediate(() => res.end(big.subarray(2048)))
    }
    res.end('small')
  })
  const proxy = await cachedRoute(t, backend, c, { allowSetCookie: true, maxObjectSize: '1kb' })
  await http(proxy.url + '/cookie')
  const hit = await http(proxy.url + '/cookie')
  assert.equal(hit.headers['set-cookie']?.[0], 'a=1')
  assert.match(hit.headers['cache-status'] as string, /hit/)
  for (const p of ['/big', '/big-chunked']) {
    const r1 = await http(proxy.url + p)
    assert.equal(r1.body.length, 4096)
    const r2 = await http(proxy.url + p)
    assert.equal(r2.body.length, 4096)
    assert.doesNotMatch(r2.headers['cache-status'] as string, /hit/, p)
  }
  assert.match((await http(proxy.url + '/big')).headers['cache-status'] as string, /detail=too-large/)
  assert.equal(backend.seen.filter((s) => s.url === '/big-chunked').length, 2)
})

test('responses without any freshness and no ttl pass through; 5xx are not stored by ttl', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.statusCode = req.url === '/err' ? 500 : 200
    res.end('x')
  })
  const proxy = await cachedRoute(t, backend, c, { ttl: '1m' })
  await http(proxy.url + '/err')
  const r = await http(proxy.url + '/err')
  assert.equal(r.status, 500)
  assert.match(r.headers['cache-status'] as string, /fwd-status=500; detail=no-freshness/)
  await http(proxy.url + '/ok')
  assert.match((await http(proxy.url + '/ok')).headers['cache-status'] as string, /hit/)
})

test('route ttl never makes a 503 or a 302 fresh, even when stored for revalidation (public + ETag)', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res, n) => {
    res.statusCode = n <= 2 ? (req.url === '/moved' ? 302 : 503) : 200
    if (res.statusCode === 302) res.setHeader('location', '/elsewhere')
    res.setHeader('cache-control', 'public')
    res.setHeader('etag', `"e${n}"`)
    res.end(res.statusCode === 200 ? 'ok' : 'not ok')
  })
  const proxy = await cachedRoute(t, backend, c, { ttl: '10m' })
  for (const path of ['/down', '/moved']) {
    const first = await http(proxy.url + path)
    assert.match(first.headers['cache-status'] as string, /fwd=uri-miss; fwd-status=(503|302); stored/)
  }
  c.advance(1000)
  for (const path of ['/down', '/moved']) {
    const r = await http(proxy.url + path)
    assert.deepEqual([r.status, r.body.toString()], [200, 'ok'], path)
    assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=200; stored')
  }
  assert.match((await http(proxy.url + '/down')).headers['cache-status'] as string, /^switchyard; hit; ttl=600$/)
  assert.equal(backend.seen.length, 4)
})

test('targeted directives: CDN-Cache-Control or Surrogate-Control (targeted at this cache) replace Cache-Control; the cache announces Surrogate-Capability upstream', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'no-store')
    if (req.url === '/cdn') res.setHeader('cdn-cache-control', 'max-age=60')
    else if (req.url === '/surrogate') res.setHeader('surrogate-control', 'max-age=60;switchyard')
    else if (req.url === '/other') res.setHeader('surrogate-control', 'max-age=60;elsewhere')
    res.end(`body ${req.url}`)
  })
  const proxy = await cachedRoute(t, backend, c)
  // (A client's own Surrogate-Capability is not passed on: it would choose what gets stored for everyone.)
  for (const p of ['/cdn', '/surrogate', '/other']) await http(proxy.url + p, { headers: { 'surrogate-capability': 'evil="Surrogate/1.0 ESI/1.0"' } })
  c.advance(30_000)
  for (const p of ['/cdn', '/surrogate']) {
    const r = await http(proxy.url + p)
    assert.equal(r.headers['cache-status'], 'switchyard; hit; ttl=30', p)
    assert.equal(r.headers['cache-control'], 'no-store') // passed on unchanged, for browsers
  }
  assert.match((await http(proxy.url + '/other')).headers['cache-status'] as string, /fwd=uri-miss/)
  assert.equal(backend.seen.length, 4)
  assert.equal(backend.seen[0]!.headers['surrogate-capability'], 'switchyard="Surrogate/1.0"')
})

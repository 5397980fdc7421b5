// Revalidation, stale serving, coalescing, invalidation, streaming: the cache layer's moving parts.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { http, rawRequest, startBackend } from '../helpers/servers.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { cachedRoute, clock, countingBackend, startCacheProxy, validatingBackend } from './cache-proxy.js'

test('a 304 refreshes the stored headers and the stored body is served', async (t) => {
  const c = clock()
  const backend = await validatingBackend(c)
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/r')
  c.advance(11_000)
  const r = await http(proxy.url + '/r')
  assert.equal(r.status, 200)
  assert.equal(r.body.toString(), 'the body')
  assert.equal(r.headers['x-version'], '2')
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=304; ttl=10; stored')
  assert.equal(backend.seen[1]!.headers['if-none-match'], '"v1"')
  c.advance(5000)
  const hit = await http(proxy.url + '/r')
  assert.equal(hit.headers['x-version'], '2')
  assert.equal(hit.headers.age, '5')
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=5')
  assert.equal(backend.seen.length, 2)
})

test('client conditionals get 304 from a fresh entry; HEAD is served from the stored GET', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"abc"')
    res.setHeader('content-type', 'text/plain')
    res.end('0123456789')
  })
  const proxy = await cachedRoute(t, backend, c)
  const head0 = await http(proxy.url + '/c', { method: 'HEAD' }) // a HEAD miss fills the GET entry
  assert.equal(head0.headers['content-length'], '10')
  assert.equal(backend.seen[0]!.method, 'GET')
  const cond = await http(proxy.url + '/c', { headers: { 'if-none-match': 'W/"abc"' } })
  assert.equal(cond.status, 304)
  assert.equal(cond.body.length, 0)
  assert.equal(cond.headers.etag, '"abc"')
  assert.match(cond.headers['cache-status'] as string, /^switchyard; hit/)
  const head = await http(proxy.url + '/c', { method: 'HEAD' })
  assert.equal(head.status, 200)
  assert.equal(head.headers['content-length'], '10')
  assert.equal(head.body.length, 0)
  assert.equal((await http(proxy.url + '/c')).body.toString(), '0123456789')
  assert.equal(backend.seen.length, 1)
})

test('stale-while-revalidate serves stale at once and refreshes once in the background', async (t) => {
  const c = clock()
  let version = 1
  let release: (() => void) | undefined
  const backend = await countingBackend(c, (_req, res, n) => {
    res.setHeader('cache-control', 'max-age=10')
    if (n === 1) return res.end(`v${version}`)
    release = () => res.end(`v${version}`) // the refresh waits until every stale answer is out
  })
  const proxy = await cachedRoute(t, backend, c, { staleWhileRevalidate: '30s' })
  await http(proxy.url + '/s')
  version = 2
  c.advance(15_000)
  const results = await Promise.all(Array.from({ length: 10 }, () => http(proxy.url + '/s')))
  for (const r of results) {
    assert.equal(r.body.toString(), 'v1')
    assert.equal(r.headers['cache-status'], 'switchyard; hit; ttl=-5; detail=stale-while-revalidate')
  }
  while (!release) await new Promise((r) => setImmediate(r))
  release()
  await proxy.runtime.cache.settled()
  assert.equal(backend.seen.length, 2)
  const fresh = await http(proxy.url + '/s')
  assert.equal(fresh.body.toString(), 'v2')
  assert.match(fresh.headers['cache-status'] as string, /hit; ttl=10/)
})

test('stale-if-error serves the stale entry when the upstream answers 5xx, closes after its head (before any body byte: nothing was sent yet), or is down', async (t) => {
  const c = clock()
  let fail: false | '503' | 'cut' = false
  const backend = await countingBackend(c, (_req, res) => {
    if (fail === '503') {
      res.statusCode = 503
      return res.end('down')
    }
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('etag', '"e"')
    if (fail !== 'cut') return void res.end('good')
    res.writeHead(200, { 'content-length': '10' })
    res.flushHeaders()
    res.socket!.write('', () => res.socket!.destroy()) // the head is out: close before any body byte
  })
  const proxy = await cachedRoute(t, backend, c, { staleIfError: '1m' })
  await http(proxy.url + '/e')
  fail = '503'
  c.advance(20_000)
  const r = await http(proxy.url + '/e')
  assert.equal(r.status, 200)
  assert.equal(r.body.toString(), 'good')
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=503; ttl=-10; detail=stale-if-error')
  fail = 'cut'
  const cut = await http(proxy.url + '/e')
  assert.equal(cut.body.toString(), 'good')
  assert.equal(cut.headers['cache-status'], 'switchyard; fwd=stale; ttl=-10; detail=stale-if-error')
  await backend.close()
  const down = await http(proxy.url + '/e')
  assert.equal(down.body.toString(), 'good')
  assert.equal(down.headers['cache-status'], 'switchyard; fwd=stale; ttl=-10; detail=stale-if-error')
  c.advance(60_000) // outside the window: the error goes through
  const late = await http(proxy.url + '/e')
  assert.equal(late.status, 502)
  assert.match(late.headers['cache-status'] as string, /fwd=stale/)
})

test('100 concurrent misses for one key → exactly one upstream request', async (t) => {
  const c = clock()
  const waiting: Array<() => void> = []
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    waiting.push(() => res.end('shared'))
  })
  const proxy = await cachedRoute(t, backend, c)
  const all = Promise.all(Array.from({ length: 100 }, () => http(proxy.url + '/hot')))
  while (backend.seen.length === 0) await new Promise((r) => setImmediate(r))
  // Let every client reach the proxy before the leader's response is released.
  while (proxy.runtime.cache.waiting < 99) await new Promise((r) => setImmediate(r))
  waiting[0]!()
  const results = await all
  assert.equal(backend.seen.length, 1)
  assert.ok(results.every((r) => r.status === 200 && r.body.toString() === 'shared'))
  assert.equal(results.filter((r) => /collapsed/.test(r.headers['cache-status'] as string)).length, 99)
})

test('a successful POST invalidates the target URI and same-origin Location, not other origins', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    if (req.method === 'POST') {
      res.statusCode = 201
      res.setHeader('location', '/items/2')
      res.setHeader('content-location', 'http://elsewhere.example/items/3')
      return res.end('created')
    }
    res.setHeader('cache-control', 'max-age=60')
    res.end(`get ${req.url}`)
  })
  const proxy = await cachedRoute(t, backend, c)
  for (const p of ['/items', '/items/2', '/items/3']) await http(proxy.url + p)
  const post = await http(proxy.url + '/items', { method: 'POST', body: 'x' })
  assert.equal(post.status, 201)
  assert.equal(post.headers['cache-status'], 'switchyard; fwd=method')
  assert.match((await http(proxy.url + '/items')).headers['cache-status'] as string, /uri-miss/)
  assert.match((await http(proxy.url + '/items/2')).headers['cache-status'] as string, /uri-miss/)
  assert.match((await http(proxy.url + '/items/3')).headers['cache-status'] as string, /hit/)
})

test('responses stream to the client while they are stored', async (t) => {
  const c = clock()
  let finish: (() => void) | undefined
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.write('first ')
    finish = () => res.end('last')
  })
  const proxy = await cachedRoute(t, backend, c)
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(proxy.url + '/stream', { agent: false }, (res) => {
      let s = ''
      res.on('data', (d: Buffer) => {
        s += d.toString()
        if (s === 'first ') finish!() // the first bytes arrived before the upstream finished
      })
      res.on('end', () => resolve(s))
    })
    req.on('error', reject)
    req.end()
  })
  assert.equal(body, 'first last')
  const hit = await http(proxy.url + '/stream')
  assert.equal(hit.body.toString(), 'first last')
  assert.match(hit.headers['cache-status'] as string, /hit/)
})

test('Range requests: answered from a stored 200 on a hit (206, 416, or the whole 200), passed through on a miss; only-if-cached on a miss → 504', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"v1"')
    res.setHeader('x-a', '1')
    if (req.headers.range) {
      res.statusCode = 206
      res.setHeader('content-range', 'bytes 0-1/10')
      return res.end('01')
    }
    res.end('0123456789')
  })
  const proxy = await cachedRoute(t, backend, c)
  // A miss with a Range passes through; the origin answers the range, nothing is stored.
  const missed = await http(proxy.url + '/r', { headers: { range: 'bytes=0-1' } })
  assert.equal(missed.status, 206)
  assert.equal(missed.headers['cache-status'], 'switchyard; fwd=bypass; detail=range')
  await http(proxy.url + '/r') // stored
  const cases: Array<[Record<string, string>, number, string, string | undefined]> = [
    [{ range: 'bytes=2-4' }, 206, '234', 'bytes 2-4/10'],
    [{ range: 'bytes=7-' }, 206, '789', 'bytes 7-9/10'],
    [{ range: 'bytes=-2' }, 206, '89', 'bytes 8-9/10'],
    [{ range: 'bytes=5-100' }, 206, '56789', 'bytes 5-9/10'],
    [{ range: 'bytes=10-' }, 416, '', 'bytes */10'],
    [{ range: 'bytes=0-1,4-5' }, 200, '0123456789', undefined],
    [{ range: 'items=0-1' }, 200, '0123456789', undefined],
    [{ range: 'bytes=0-1', 'if-range': '"v1"' }, 206, '01', 'bytes 0-1/10'],
    [{ range: 'bytes=0-1', 'if-range': '"v0"' }, 200, '0123456789', undefined],
  ]
  for (const [headers, status, body, contentRange] of cases) {
    const r = await http(proxy.url + '/r', { headers })
    const label = JSON.stringify(headers)
    assert.equal(r.status, status, label)
    assert.equal(r.body.toString(), body, label)
    assert.equal(r.headers['content-range'], contentRange, label)
    assert.equal(r.headers['content-length'], String(body.length), label)
    assert.match(r.headers['cache-status'] as string, /hit/, label)
    if (status !== 416) assert.equal(r.headers['x-a'], '1', label) // the stored fields
  }
  const oic = await http(proxy.url + '/nothing', { headers: { 'cache-control': 'only-if-cached' } })
  assert.equal(oic.status, 504)
  assert.equal(backend.seen.length, 2)
  assert.equal(backend.seen[0]!.headers.range, 'bytes=0-1')
  assert.equal(backend.seen[1]!.headers.range, undefined)
})

test('the store survives a reload with the same settings; routes without cache send no Cache-Status', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.end('kept')
  })
  const config = { upstreams: { b: { servers: [backend.url] } }, routes: [{ match: { path: '/c/*' }, to: 'b', cache: true }, { to: 'b' }] }
  const proxy = await startCacheProxy(config, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  await http(proxy.url + '/c/x')
  await proxy.runtime.load(resolveConfig({ ...config, listen: { host: '127.0.0.1', port: proxy.port } }, 'start'))
  assert.match((await http(proxy.url + '/c/x')).headers['cache-status'] as string, /hit/)
  assert.equal((await http(proxy.url + '/plain')).headers['cache-status'], undefined)
  assert.equal(backend.seen.length, 2)
})

test('no server available: stale-if-error still answers; Cache-Status on the 503', async (t) => {
  const c = clock()
  const backend = await startBackend((_req, res) => {
    res.setHeader('cache-control', 'max-age=1, stale-if-error=60')
    res.setHeader('etag', '"z"')
    res.end('z')
  })
  const proxy = await cachedRoute(t, backend, c)
  await http(proxy.url + '/z')
  await backend.close()
  c.advance(5000)
  const r = await http(proxy.url + '/z')
  assert.equal(r.body.toString(), 'z')
  const miss = await http(proxy.url + '/other')
  assert.equal(miss.status, 502)
  assert.match(miss.headers['cache-status'] as string, /fwd=uri-miss/)
})

test('the forwarder answering by itself (every server busy) still gets stale-if-error and Cache-Status', async (t) => {
  const c = clock()
  let hold: (() => void) | undefined
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=1, stale-if-error=60')
    res.setHeader('etag', '"q"')
    if (req.url === '/slow') {
      hold = () => res.end('slow')
      return
    }
    res.end(`ok ${req.url}`)
  })
  const proxy = await startCacheProxy({
    upstreams: { b: { servers: [{ url: backend.url, maxConns: 1 }], queue: { size: 0 } } },
    routes: [{ to: 'b', cache: true }],
  }, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  await http(proxy.url + '/z')
  c.advance(5000)
  const slow = http(proxy.url + '/slow') // takes the only slot
  while (!hold) await new Promise((r) => setImmediate(r))
  const stale = await http(proxy.url + '/z')
  assert.equal(stale.status, 200)
  assert.equal(stale.body.toString(), 'ok /z')
  assert.match(stale.headers['cache-status'] as string, /fwd=stale; ttl=-4; detail=stale-if-error/)
  const busy = await http(proxy.url + '/new')
  assert.equal(busy.status, 503)
  assert.equal(busy.headers['cache-status'], 'switchyard; fwd=uri-miss')
  hold()
  assert.equal((await slow).body.toString(), 'slow')
})

test('client no-cache revalidates (fwd=request) unless ignoreNoCache; methods limits what is answered', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('etag', '"n"')
    if (req.headers['if-none-match'] === '"n"') {
      res.statusCode = 304
      return res.end()
    }
    res.end('n')
  })
  const proxy = await startCacheProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      { match: { path: '/strict/*' }, to: 'b', cache: { methods: ['GET'] } },
      { match: { path: '/shield/*' }, to: 'b', cache: { ignoreNoCache: true } },
    ],
  }, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  await http(proxy.url + '/strict/a')
  const forced = await http(proxy.url + '/strict/a', { headers: { 'cache-control': 'no-cache' } })
  assert.equal(forced.headers['cache-status'], 'switchyard; fwd=request; fwd-status=304; ttl=60; stored')
  assert.equal(forced.body.toString(), 'n')
  const head = await http(proxy.url + '/strict/a', { method: 'HEAD' })
  assert.equal(head.headers['cache-status'], 'switchyard; fwd=method')
  assert.equal(backend.seen.at(-1)!.method, 'HEAD')
  await http(proxy.url + '/shield/a')
  const shielded = await http(proxy.url + '/shield/a', { headers: { 'cache-control': 'no-cache', pragma: 'no-cache' } })
  assert.equal(shielded.headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.equal(backend.seen.length, 4)
})

test('an upstream that fails after reading a request body: the client gets 502, PassSink (POST) and TeeSink (GET) alike', { timeout: 10_000 }, async (t) => {
  const c = clock()
  // Reads the whole body, then closes without answering (Node has auto-destroyed the proxy's
  // fully read request by then: the client is still waiting all the same).
  const backend = await countingBackend(c, (req) => {
    req.resume()
    req.on('end', () => req.socket.destroy())
  })
  const proxy = await cachedRoute(t, backend, c)
  for (const method of ['POST', 'PUT', 'GET']) {
    const r = await http(proxy.url + '/x', { method, body: 'hello', headers: { 'content-type': 'text/plain' } })
    assert.equal(r.status, 502, method)
    assert.match(r.headers['cache-status'] as string, /^switchyard; fwd=(method|uri-miss)$/, method)
  }
})

test('invalidation finds targets whose query WHATWG URL would re-encode, and canonicalizes Location paths', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    req.resume()
    if (req.method === 'POST') {
      res.setHeader('location', `/%7Euser/list?filter={"b":2}`)
      res.setHeader('content-location', `http://a.test/a/./b/../docs?q='x'`)
      return res.end('done')
    }
    res.setHeader('cache-control', 'max-age=600')
    res.end(`get ${req.url}`)
  })
  const proxy = await cachedRoute(t, backend, c)
  const get = (target: string): Promise<string> => rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`)
  const status = (raw: string): string | undefined => /\r\ncache-status: ([^\r]*)/i.exec(raw)?.[1]
  const targets = ['/list?filter={"a":1}', "/list?q='x'<y>", '/~user/list?filter={"b":2}', "/a/docs?q='x'", '/other?filter={"a":1}']
  for (const target of targets) assert.match(status(await get(target))!, /fwd=uri-miss/, target)
  for (const target of targets) assert.match(status(await get(target))!, /hit/, target)
  for (const target of targets.slice(0, 2)) {
    const post = await rawRequest(proxy.port, `POST ${target} HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`)
    assert.match(post, /^HTTP\/1.1 200/)
  }
  for (const target of targets.slice(0, 4)) assert.match(status(await get(target))!, /fwd=uri-miss/, `${target} invalidated`)
  assert.match(status(await get(targets[4]!))!, /hit/)
})

// Lifecycle hooks on routes with `cache` (README: "Hooks and the cache"): onRequest before the
// lookup (its path and header changes feed the key and Vary), the upstream phases only when the
// cache goes upstream (what onUpstreamResponse leaves is what is stored; `cacheable = false`
// keeps it out), onResponse on every answer, hit or miss, without touching what is stored.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { SwitchyardConfig, RouteCacheConfig } from '../../src/config/types.js'
import type { Hooks } from '../../src/config/hooks.js'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { http, rawRequest, startBackend } from '../helpers/servers.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'
import { clock, countingBackend, startCacheProxy, validatingBackend, type Clock, type CountingBackend, type CacheProxy } from './cache-proxy.js'

type After = { after: (fn: () => Promise<void> | void) => void }

/** One caching route `/*` → backend with `hooks`. */
async function hookedCache(t: After, backend: CountingBackend, c: Clock, hooks: Hooks, cache: boolean | RouteCacheConfig = true, extra: Partial<SwitchyardConfig> = {}): Promise<CacheProxy> {
  const proxy = await startCacheProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ match: { path: '/*' }, to: 'b', cache, hooks }], ...extra }, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  return proxy
}

function fresh(body = 'hello'): (req: unknown, res: import('node:http').ServerResponse) => void {
  return (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('content-type', 'text/plain')
    res.end(body)
  }
}

test('onResponse sees every answer, miss and hit, with its Cache-Status; hits do not run the upstream phases', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, fresh())
  const seen: string[] = []
  const phases: string[] = []
  const proxy = await hookedCache(t, backend, c, {
    onUpstreamRequest: () => void phases.push('onUpstreamRequest'),
    onUpstreamResponse: () => void phases.push('onUpstreamResponse'),
    onResponse: (_ctx, res) => {
      seen.push(res.headers.get('cache-status') ?? '(none)')
      const headers = new Headers(res.headers)
      headers.set('x-seen', '1')
      return new Response(res.body, { status: res.status, headers })
    },
  })
  const miss = await http(proxy.url + '/a')
  const hit = await http(proxy.url + '/a')
  assert.deepEqual([miss.status, miss.body.toString(), miss.headers['x-seen']], [200, 'hello', '1'])
  assert.deepEqual([hit.status, hit.body.toString(), hit.headers['x-seen']], [200, 'hello', '1'])
  assert.deepEqual(seen, ['switchyard; fwd=uri-miss; fwd-status=200; stored', 'switchyard; hit; ttl=60'])
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.equal(hit.headers.age, '0')
  assert.deepEqual(phases, ['onUpstreamRequest', 'onUpstreamResponse'])
  assert.equal(backend.seen.length, 1)
  // A client conditional and a HEAD answered from the entry go through onResponse too.
  const etagless = await http(proxy.url + '/a', { method: 'HEAD' })
  assert.deepEqual([etagless.status, etagless.headers['content-length'], etagless.body.length, etagless.headers['x-seen']], [200, '5', 0, '1'])
  assert.equal(seen.length, 3)
})

test('what onUpstreamResponse changes is what is stored; cacheable = false passes the response through unstored', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'no-store') // the hook makes it cacheable
    res.setHeader('x-secret', 'internal')
    res.end('payload')
  })
  const proxy = await hookedCache(t, backend, c, {
    onUpstreamResponse: (ctx, res) => {
      res.headers.set('cache-control', 'max-age=30')
      res.headers.delete('x-secret')
      res.headers.set('x-stored-by', 'hook')
      if (ctx.url.pathname.startsWith('/veto')) res.cacheable = false
    },
  })
  const first = await http(proxy.url + '/kept')
  assert.equal(first.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; stored')
  const hit = await http(proxy.url + '/kept')
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=30')
  assert.equal(hit.headers['x-stored-by'], 'hook')
  assert.equal(hit.headers['x-secret'], undefined)
  assert.equal(hit.headers['cache-control'], 'max-age=30')
  assert.equal(backend.seen.length, 1)

  const vetoed = await http(proxy.url + '/veto')
  assert.equal(vetoed.body.toString(), 'payload')
  assert.equal(vetoed.headers['x-stored-by'], 'hook')
  assert.equal(vetoed.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; detail=vetoed')
  const again = await http(proxy.url + '/veto')
  assert.match(again.headers['cache-status'] as string, /^switchyard; fwd=uri-miss/, 'not stored: a miss again')
  assert.equal(backend.seen.length, 3)
})

test('a veto on a revalidation 304 serves the entry without refreshing what is stored', async (t) => {
  const c = clock()
  const backend = await validatingBackend(c)
  let veto = true
  const proxy = await hookedCache(t, backend, c, { onUpstreamResponse: (_ctx, res) => void (res.cacheable = !veto) })
  veto = false
  await http(proxy.url + '/r')
  veto = true
  c.advance(11_000)
  const r = await http(proxy.url + '/r')
  assert.deepEqual([r.status, r.body.toString(), r.headers['x-version']], [200, 'the body', '2'])
  assert.equal(r.headers['cache-status'], 'switchyard; fwd=stale; fwd-status=304; ttl=10; detail=vetoed')
  const next = await http(proxy.url + '/r')
  assert.match(next.headers['cache-status'] as string, /^switchyard; fwd=stale; fwd-status=304/, 'the stored entry stayed stale')
  assert.equal(backend.seen.length, 3)
})

test('an onResponse body transform changes what this client gets, never the stored entry (hit or miss)', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, fresh('hello world'))
  const upperInPlace = (): TransformStream<Uint8Array, Uint8Array> => new TransformStream({
    transform(chunk, controller) {
      for (let i = 0; i < chunk.length; i++) if (chunk[i]! >= 97 && chunk[i]! <= 122) chunk[i] = chunk[i]! - 32 // mutates the bytes it was given
      controller.enqueue(chunk)
    },
  })
  const proxy = await hookedCache(t, backend, c, {
    onResponse: (ctx, res) => {
      if (ctx.headers.get('x-shout') === null) return
      const headers = new Headers(res.headers)
      headers.delete('content-length')
      return new Response(res.body!.pipeThrough(upperInPlace()), { status: res.status, headers })
    },
  })
  // Transformed on the miss (the tee): the store gets the upstream's bytes.
  assert.equal((await http(proxy.url + '/t', { headers: { 'x-shout': '1' } })).body.toString(), 'HELLO WORLD')
  assert.equal((await http(proxy.url + '/t')).body.toString(), 'hello world')
  // Transformed on a hit: the stored bytes are not the ones the hook mutates.
  const shouted = await http(proxy.url + '/t', { headers: { 'x-shout': '1' } })
  assert.deepEqual([shouted.body.toString(), shouted.headers['cache-status']], ['HELLO WORLD', 'switchyard; hit; ttl=60'])
  const plain = await http(proxy.url + '/t')
  assert.deepEqual([plain.body.toString(), plain.headers['cache-status']], ['hello world', 'switchyard; hit; ttl=60'])
  assert.equal(backend.seen.length, 1)
})

test('an onResponse that replaces the body on a miss does not keep the entry from being stored', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, fresh('original'))
  const proxy = await hookedCache(t, backend, c, {
    onResponse: (ctx, res) => (ctx.url.searchParams.has('replace') ? new Response('replaced', { status: res.status, headers: res.headers }) : undefined),
  })
  assert.equal((await http(proxy.url + '/x?replace')).body.toString(), 'replaced')
  await proxy.runtime.cache.settled()
  const hit = await http(proxy.url + '/x?replace')
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.equal(backend.seen.length, 1)
})

test('onRequest runs before the lookup: an early answer skips the cache; rewrites and header changes feed the key and Vary', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    res.setHeader('vary', 'x-lang')
    res.end(`${req.url} in ${req.headers['x-lang'] ?? '?'}`)
  })
  const proxy = await hookedCache(t, backend, c, {
    onRequest: (ctx) => {
      if (ctx.headers.get('authorization') !== 'Bearer ok') return new Response('no', { status: 401 })
      ctx.headers.delete('authorization') // checked here: the origin (and so the cache) sees a public request
      ctx.rewrite(ctx.url.pathname.replace(/^\/alias-[a-z]+/, '/page'))
      const lang = /lang=(\w+)/.exec(ctx.headers.get('cookie') ?? '')?.[1]
      if (lang) ctx.headers.set('x-lang', lang)
    },
  })
  const denied = await http(proxy.url + '/alias-a')
  assert.deepEqual([denied.status, denied.headers['cache-status']], [401, undefined])
  assert.equal(backend.seen.length, 0)

  const auth = { authorization: 'Bearer ok' }
  const de = await http(proxy.url + '/alias-a', { headers: { ...auth, cookie: 'lang=de' } })
  assert.deepEqual([de.body.toString(), de.headers['cache-status']], ['/page in de', 'switchyard; fwd=uri-miss; fwd-status=200; stored'])
  const deOther = await http(proxy.url + '/alias-b', { headers: { ...auth, cookie: 'lang=de' } })
  assert.deepEqual([deOther.body.toString(), deOther.headers['cache-status']], ['/page in de', 'switchyard; hit; ttl=60'], 'one key for both aliases')
  const en = await http(proxy.url + '/alias-b', { headers: { ...auth, cookie: 'lang=en' } })
  assert.deepEqual([en.body.toString(), en.headers['cache-status']], ['/page in en', 'switchyard; fwd=vary-miss; fwd-status=200; stored'])
  const deAgain = await http(proxy.url + '/alias-c', { headers: { ...auth, cookie: 'lang=de' } })
  assert.deepEqual([deAgain.body.toString(), deAgain.headers['cache-status']], ['/page in de', 'switchyard; hit; ttl=60'])
  assert.equal(backend.seen.length, 2)
})

test('onUpstreamRequest runs on misses, revalidations and background refreshes (sees the validators); onResponse only for clients', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    if (req.headers.authorization !== 'secret') {
      res.statusCode = 401
      return res.end('who?')
    }
    res.setHeader('cache-control', 'max-age=1, stale-while-revalidate=30')
    res.setHeader('etag', '"e1"')
    if (req.headers['if-none-match'] === '"e1"') {
      res.statusCode = 304
      return res.end()
    }
    res.end('members only')
  })
  const upstream: string[] = []
  let responses = 0
  const proxy = await hookedCache(t, backend, c, {
    onUpstreamRequest: (_ctx, req) => {
      upstream.push(`${req.method} ${req.path} inm=${req.headers.get('if-none-match') ?? '-'}`)
      req.headers.set('authorization', 'secret')
    },
    onResponse: () => void responses++,
  })
  assert.equal((await http(proxy.url + '/m')).body.toString(), 'members only')
  c.advance(2000)
  const stale = await http(proxy.url + '/m')
  assert.equal(stale.headers['cache-status'], 'switchyard; hit; ttl=-1; detail=stale-while-revalidate')
  await proxy.runtime.cache.settled()
  c.advance(500)
  assert.equal((await http(proxy.url + '/m')).headers['cache-status'], 'switchyard; hit; ttl=0', 'the refresh (a 304) freshened the entry')
  assert.deepEqual(upstream, ['GET /m inm=-', 'GET /m inm="e1"'])
  assert.ok(backend.seen.every((s) => s.headers.authorization === 'secret'))
  assert.equal(responses, 3)
})

test('request bodies on a cached route: a body onUpstreamRequest sets replaces the client\'s (chunked); one the hooks\' Web Request holds is sent', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => res.end(JSON.stringify({ body: Buffer.concat(chunks).toString(), length: req.headers['content-length'] ?? '-', te: req.headers['transfer-encoding'] ?? '-' })))
  })
  const proxy = await hookedCache(t, backend, c, {
    onRequest: (ctx) => {
      if (ctx.url.pathname === '/web') void ctx.request.headers // builds the Web Request: the body is sent from it
    },
    onUpstreamRequest: (ctx, req) => {
      if (ctx.url.pathname === '/replace') req.body = new Response('replaced body').body
    },
  })
  const post = async (path: string, method = 'POST'): Promise<unknown> =>
    JSON.parse((await http(proxy.url + path, method === 'GET' ? {} : { method, headers: { 'content-type': 'text/plain' }, body: 'original' })).body.toString())
  assert.deepEqual(await post('/replace'), { body: 'replaced body', length: '-', te: 'chunked' })
  assert.deepEqual(await post('/web'), { body: 'original', length: '8', te: '-' })
  assert.deepEqual(await post('/plain'), { body: 'original', length: '8', te: '-' })
  assert.deepEqual(await post('/web', 'GET'), { body: '', length: '-', te: '-' })
  assert.deepEqual(backend.seen.map((s) => `${s.method} ${s.url}`), ['POST /replace', 'POST /web', 'POST /plain', 'GET /web'])
})

test('a hook that throws on a cached route answers 500 or onError, and nothing is stored', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, fresh())
  const errors: string[] = []
  const proxy = await hookedCache(t, backend, c, {
    onUpstreamResponse: (ctx) => {
      if (ctx.headers.get('x-boom') !== null) throw new Error('boom')
    },
    onResponse: (ctx) => {
      if (ctx.headers.get('x-boom-late') !== null) throw new Error('late boom')
    },
    onError: (ctx, err) => {
      errors.push(`${err.status} ${err.reason}`)
      if (ctx.headers.get('x-answer') !== null) return Response.json({ sorry: err.status }, { status: 503 })
    },
  })
  const answered = await http(proxy.url + '/e', { headers: { 'x-boom': '1', 'x-answer': '1' } })
  assert.deepEqual([answered.status, JSON.parse(answered.body.toString())], [503, { sorry: 500 }])
  assert.match(errors[0]!, /^500 onUpstreamResponse hook of .* threw: boom$/)
  const plain500 = await http(proxy.url + '/e', { headers: { 'x-boom': '1' } })
  assert.equal(plain500.status, 500)
  const stored = await http(proxy.url + '/e')
  assert.equal(stored.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; stored', 'the failed exchanges stored nothing')
  const late = await http(proxy.url + '/e', { headers: { 'x-boom-late': '1' } })
  assert.equal(late.status, 500, 'onResponse throwing on a hit: 500')
  assert.equal((await http(proxy.url + '/e')).body.toString(), 'hello', 'the entry is intact')
  assert.ok(proxy.log.lines.some((l) => l.level === 'error' && /boom/.test(l.message)))
})

test('upstream errors on a cached route go to onError; without an answer the default keeps its Cache-Status', async (t) => {
  const gone = await startBackend(() => {})
  const url = gone.url
  await gone.close()
  const errors: number[] = []
  const c = clock()
  const proxy = await startCacheProxy({
    upstreams: { b: { servers: [url] } },
    routes: [{
      match: { path: '/*' }, to: 'b', cache: true,
      hooks: {
        onResponse: () => {},
        onError: (ctx, err) => {
          errors.push(err.status)
          if (ctx.url.pathname === '/answered') return new Response('fallback', { status: 200, headers: { 'cache-control': 'no-store' } })
        },
      },
    }],
  }, c.fn)
  t.after(() => proxy.close())
  const answered = await http(proxy.url + '/answered')
  assert.deepEqual([answered.status, answered.body.toString()], [200, 'fallback'])
  const dflt = await http(proxy.url + '/default')
  assert.equal(dflt.status, 502)
  assert.equal(dflt.headers['cache-status'], 'switchyard; fwd=uri-miss')
  assert.deepEqual(errors, [502, 502])
})

test('decision traces show the cache decision and which hooks ran, hit and miss', async (t) => {
  let now = 1_700_000_000_000
  const api = mockUpstream(() => new Response('catalog', { headers: { 'cache-control': 'max-age=60' } }))
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1'] } },
    routes: [{
      match: { path: '/catalog' }, to: 'api', cache: true,
      hooks: { onRequest: () => {}, onUpstreamRequest: () => {}, onUpstreamResponse: () => {}, onResponse: () => {} },
    }],
  }, { upstreams: { api }, cacheNow: () => now })
  t.after(() => proxy.close())
  const miss = await proxy.request('/catalog')
  assert.equal(miss.trace.cache?.decision, 'miss')
  assert.match(miss.trace.cache?.status ?? '', /fwd=uri-miss/)
  assert.deepEqual(miss.trace.hooks.map((h) => h.phase), ['onRequest', 'onUpstreamRequest', 'onUpstreamResponse', 'onResponse'])
  assert.equal(miss.trace.attempts.length, 1)
  now += 10_000
  const hit = await proxy.request('/catalog')
  assert.equal(hit.text(), 'catalog')
  assert.equal(hit.trace.cache?.decision, 'fresh')
  assert.match(hit.trace.cache?.status ?? '', /hit/)
  assert.deepEqual(hit.trace.hooks.map((h) => h.phase), ['onRequest', 'onResponse'])
  assert.equal(hit.trace.balancer, undefined)
  assert.equal(api.requests.length, 1)
})

test('a route whose hooks are onRequest only serves hits straight from the cache, and selectUpstream picks the server for misses', async (t) => {
  const c = clock()
  const a = await countingBackend(c, fresh('from a'))
  const b = await countingBackend(c, fresh('from b'))
  const proxy = await startCacheProxy({
    upstreams: { g: { servers: [a.url, b.url] } },
    routes: [{ match: { path: '/*' }, to: 'g', cache: true, hooks: { selectUpstream: () => ({ group: 'g', server: b.url }) } }],
  }, c.fn)
  t.after(() => a.close())
  t.after(() => b.close())
  t.after(() => proxy.close())
  for (const path of ['/1', '/2', '/3']) assert.equal((await http(proxy.url + path)).body.toString(), 'from b')
  assert.equal((await http(proxy.url + '/1')).headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.deepEqual([a.seen.length, b.seen.length], [0, 3])
})

test('a large miss streams through onResponse with backpressure and is stored whole', async (t) => {
  const c = clock()
  const big = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < big.length; i++) big[i] = i % 251
  const backend = await countingBackend(c, (_req, res) => {
    res.setHeader('cache-control', 'max-age=60')
    let sent = 0
    const more = (): void => {
      while (sent < big.length) {
        const chunk = big.subarray(sent, sent + 16 * 1024)
        sent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', more)
      }
      res.end()
    }
    more()
  })
  const proxy = await hookedCache(t, backend, c, { onResponse: (_ctx, res) => new Response(res.body, res) }, { maxObjectSize: '2mb' })
  const miss = await http(proxy.url + '/big')
  assert.ok(miss.body.equals(big))
  const hit = await http(proxy.url + '/big')
  assert.equal(hit.headers['cache-status'], 'switchyard; hit; ttl=60')
  assert.ok(hit.body.equals(big))
  assert.equal(backend.seen.length, 1)
})

test('hop-by-hop fields an onUpstreamResponse hook sets never reach the client, miss or hit', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, fresh('payload'))
  const proxy = await hookedCache(t, backend, c, {
    onUpstreamResponse: (_ctx, res) => {
      res.headers.set('connection', 'upgrade, x-private')
      res.headers.set('keep-alive', 'timeout=1')
      res.headers.set('transfer-encoding', 'chunked')
      res.headers.set('upgrade', 'h2c')
      res.headers.set('proxy-authenticate', 'Basic')
      res.headers.set('x-kept', 'yes')
    },
  })
  for (const expected of ['fwd=uri-miss', 'hit']) {
    const raw = await rawRequest(proxy.port, 'GET /h HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase()
    assert.match(head, new RegExp(`cache-status: switchyard; ${expected}`))
    assert.match(head, /\r\nx-kept: yes/)
    assert.match(head, /\r\ncontent-length: 7/)
    for (const name of ['keep-alive', 'transfer-encoding', 'upgrade', 'proxy-authenticate']) assert.doesNotMatch(head, new RegExp(`\r\n${name}:`), `${expected}: ${name}`)
    assert.match(head, /\r\nconnection: close(\r\n|$)/)
    assert.ok(raw.endsWith('\r\n\r\npayload'))
  }
  assert.equal(backend.seen.length, 1)
})

test('client conditionals stay out of the cache exchanges on hooked routes too (whatever hooks the route has)', async (t) => {
  const c = clock()
  const backend = await validatingBackend(c)
  const upstreamSaw: string[] = []
  const proxy = await startCacheProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      { match: { path: '/u/*' }, to: 'b', cache: true, hooks: { onUpstreamRequest: (_ctx, req) => void upstreamSaw.push(req.headers.get('if-none-match') ?? '-') } },
      { match: { path: '/t/*' }, to: 'b', cache: true, hooks: { onRequest: (ctx) => void ctx.headers.set('x-touched', '1') } },
      { match: { path: '/s/*' }, to: 'b', cache: true, hooks: { selectUpstream: () => ({ group: 'b', server: backend.url }) } },
    ],
  }, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  for (const path of ['/u/1', '/t/1', '/s/1']) {
    const r = await http(proxy.url + path, { headers: { 'if-none-match': '"v1"', 'if-modified-since': formatHttpDate(c.now) } })
    assert.equal(r.status, 304, path)
    assert.equal(r.headers['cache-status'], 'switchyard; fwd=uri-miss; fwd-status=200; stored', path)
  }
  assert.deepEqual(upstreamSaw, ['-'])
  for (const s of backend.seen) assert.deepEqual([s.headers['if-none-match'], s.headers['if-modified-since']], [undefined, undefined], s.url)
  assert.equal(backend.seen[1]!.headers['x-touched'], '1')
})

// The test kit itself (switchyard/testing): in-memory requests (no port), the decision trace
// for route / balancer / retry / cache / hooks, listen: true, config files, clean teardown.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream, type MockUpstream } from '../../src/testing/index.js'
import { tempDir } from '../helpers/config-files.js'

/** TCP listeners open in this process now. */
function listeners(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length
}

/** Handles finish closing in libuv's close phase after server.close() called back: let it run. */
async function settledListeners(atMost: number): Promise<number> {
  for (let i = 0; i < 20 && listeners() > atMost; i++) await new Promise((resolve) => setImmediate(resolve))
  return listeners()
}

test('in memory: real HTTP through the proxy without opening a port; the route and why it matched', async (t) => {
  await settledListeners(0) // earlier tests' servers may still be closing
  const api = mockUpstream()
  await api.ready
  const before = listeners()
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:9'] } },
    routes: [
      { name: 'health', match: { path: '/health' }, respond: { body: 'ok' } },
      { name: 'user', match: { host: '*.example.com', method: ['GET', 'HEAD'], path: '/users/:id', headers: { 'x-api-version': '2' } }, to: 'api' },
    ],
  }, { upstreams: { api } })
  t.after(() => proxy.close())
  assert.ok(listeners() <= before, 'createTestProxy opened no listener')
  assert.equal(proxy.url, undefined)
  assert.deepEqual(proxy.runtime.addresses(), [])

  const res = await proxy.request('http://eu.example.com/users/7?full=1', { headers: { 'x-api-version': '2' } })
  assert.equal(res.status, 200)
  const echo = res.json<{ path: string; headers: Record<string, string> }>()
  assert.equal(echo.path, '/users/7?full=1')
  assert.equal(echo.headers.host, 'eu.example.com')
  assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1')
  assert.equal(api.lastRequest?.path, '/users/7?full=1')
  assert.deepEqual(res.trace.route, {
    type: 'route', route: 'user', index: 1, params: { id: '7' }, action: 'forward to api',
    matched: ['method GET|HEAD', 'host *.example.com', 'headers x-api-version', 'path /users/:id'],
  })
  assert.equal(res.trace.servedBy, 'api')
  assert.equal(res.trace.end?.status, 200)

  const miss = await proxy.request('/users/7') // no version header, no host match
  assert.equal(miss.status, 404)
  assert.deepEqual(miss.trace.noRoute, { type: 'no-route', method: 'GET', host: 'localhost', path: '/users/7' })
  assert.equal((await proxy.request('/health')).text(), 'ok')
  assert.ok(listeners() <= before, 'still no listener after requests')
})

test('balancer trace: policy, candidates, sticky cookie, selectUpstream naming a server', async (t) => {
  const a = mockUpstream(undefined, { name: 'a' })
  const b = mockUpstream(undefined, { name: 'b' })
  const proxy = await createTestProxy({
    upstreams: {
      web: { servers: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', weight: 3 }] },
      app: { servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], sticky: { cookie: 'srv' } },
    },
    routes: [
      { match: { path: '/app/*' }, to: 'app' },
      {
        match: { path: '/pinned' }, to: 'web',
        hooks: { selectUpstream: () => ({ group: 'web', server: a.url }) },
      },
      { to: 'web' },
    ],
  }, { upstreams: { web: [a, b], app: [a, b] } })
  t.after(() => proxy.close())

  const counts = { a: 0, b: 0 }
  for (let i = 0; i < 8; i++) {
    const res = await proxy.request('/')
    const pick = res.trace.balancer!
    assert.equal(pick.policy, 'round-robin')
    assert.equal(pick.reason, 'policy round-robin')
    assert.deepEqual(pick.candidates, [a.url, b.url])
    counts[res.trace.servedBy as 'a' | 'b']++
  }
  assert.deepEqual(counts, { a: 2, b: 6 }, 'weights 1:3 kept from the config')

  const first = await proxy.request('/app/x')
  const cookie = first.headers.get('set-cookie')!.split(';')[0]!
  const again = await proxy.request('/app/x', { headers: { cookie } })
  assert.equal(again.trace.balancer!.reason, 'sticky cookie srv')
  assert.equal(again.trace.upstream, first.trace.upstream)

  const pinned = await proxy.request('/pinned')
  assert.deepEqual(pinned.trace.hooksIn('selectUpstream'), [`routes[1].hooks: chose group web server ${a.url}`])
  assert.equal(pinned.trace.balancer!.reason, 'selectUpstream named this server')
  assert.equal(pinned.trace.servedBy, 'a')
})

test('retry trace: a 503 and a refused connection are retried on the other server', async (t) => {
  const down = mockUpstream(() => new Response('busy', { status: 503 }), { name: 'down' })
  const up = mockUpstream(undefined, { name: 'up' })
  const gone = mockUpstream()
  const goneUrl = await gone.ready
  await gone.close()
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], balance: 'first', retry: { tries: 2, on: ['connect-error', 503] } } },
    routes: [{ to: 'api' }],
  }, { upstreams: { api: [down, up] } })
  t.after(() => proxy.close())
  const res = await proxy.request('/orders')
  assert.equal(res.status, 200)
  const trace = res.trace
  assert.equal(trace.retries, 1)
  assert.deepEqual(trace.attempts.map((a) => [trace.nameOf(a.server), a.outcome, a.retry]), [
    ['down', 'status 503', 'retryable status 503'],
    ['up', 'status 200', undefined],
  ])
  assert.deepEqual(trace.picks.map((p) => p.reason), ['policy first', `retry: policy first excluding ${down.url}`])
  assert.deepEqual(trace.events.map((e) => e.type), ['route', 'balancer', 'attempt', 'balancer', 'attempt', 'end'])

  const refused = await createTestProxy({
    upstreams: { api: { servers: [goneUrl, up.url], balance: 'first', retry: { tries: 2, on: ['connect-error'] } } },
    routes: [{ to: 'api' }],
  }, { closeUpstreams: false })
  t.after(() => refused.close())
  const r2 = await refused.request('/x')
  assert.equal(r2.status, 200)
  assert.match(r2.trace.attempts[0]!.outcome, /^connect-error: /)
  assert.equal(r2.trace.attempts[0]!.retry, 'connect-error')
  assert.equal(r2.trace.upstream, up.url)
})

test('error trace: an upstream that fails without retries ends in 502 with the reason', async (t) => {
  const gone = mockUpstream()
  const goneUrl = await gone.ready
  await gone.close()
  const proxy = await createTestProxy({ upstreams: { api: { servers: [goneUrl] } }, routes: [{ to: 'api' }] })
  t.after(() => proxy.close())
  const res = await proxy.request('/')
  assert.equal(res.status, 502)
  assert.match(res.trace.attempts[0]!.outcome, /^connect-error: /)
  assert.equal(res.trace.attempts[0]!.retry, undefined)
  assert.match(res.trace.end!.error ?? '', /refused|connect/i)
  assert.ok(proxy.logs.some((l) => l.level === 'error' && /upstream request failed/.test(l.message)))
})

test('cache trace: miss then fresh hit, with the Cache-Status the client got', async (t) => {
  let now = 1_700_000_000_000
  const api = mockUpstream(() => new Response('catalog', { headers: { 'cache-control': 'max-age=60' } }))
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1'] } },
    routes: [{ match: { path: '/catalog' }, to: 'api', cache: true }, { match: { path: '/orders' }, to: 'api', cache: true }],
  }, { upstreams: { api }, cacheNow: () => now })
  t.after(() => proxy.close())
  const miss = await proxy.request('/catalog')
  assert.equal(miss.trace.cache?.decision, 'miss')
  assert.equal(miss.trace.cache?.detail, 'fwd=uri-miss')
  assert.match(miss.trace.cache?.status ?? '', /fwd=uri-miss/)
  assert.equal(miss.trace.attempts.length, 1)
  await proxy.runtime.cache.settled()
  now += 10_000
  const hit = await proxy.request('/catalog')
  assert.equal(hit.text(), 'catalog')
  assert.equal(hit.trace.cache?.decision, 'fresh')
  assert.match(hit.trace.cache?.status ?? '', /hit/)
  assert.equal(hit.trace.balancer, undefined, 'a hit never reaches the balancer')
  assert.equal(api.requests.length, 1)
  const post = await proxy.request('/orders', { method: 'POST', body: 'x' })
  assert.equal(post.trace.cache?.decision, 'pass')
  assert.match(post.trace.cache?.status ?? '', /fwd=method/)
})

test('hook trace: each middleware and phase, early answers, errors', async (t) => {
  const api = mockUpstream()
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1'] } },
    use: [{ name: 'stamp', onResponse: (_ctx, res) => new Response(res.body, { status: res.status, headers: { 'x-stamp': '1' } }) }],
    routes: [
      { match: { path: '/boom' }, to: 'api', hooks: { onRequest: () => { throw new Error('kaput') } } },
      {
        to: 'api',
        use: [{ name: 'auth', onRequest: (ctx) => (ctx.headers.get('authorization') ? undefined : new Response('no', { status: 401 })) }],
        hooks: { onUpstreamRequest: (_ctx, req) => void req.headers.set('x-seen', '1') },
      },
    ],
  }, { upstreams: { api } })
  t.after(() => proxy.close())
  const denied = await proxy.request('/x')
  assert.equal(denied.status, 401)
  assert.equal(denied.headers.get('x-stamp'), '1')
  assert.deepEqual(denied.trace.hooks.map((h) => `${h.phase} ${h.middleware}: ${h.result}`), [
    'onRequest auth: answered 401',
    'onResponse stamp: replaced the response (status 401)',
  ])
  assert.equal(denied.trace.balancer, undefined)

  const ok = await proxy.request('/x', { headers: { authorization: 'Bearer t' } })
  assert.equal(ok.status, 200)
  assert.deepEqual(ok.trace.hooksIn('onRequest'), ['auth: -'])
  assert.deepEqual(ok.trace.hooksIn('onUpstreamRequest'), ['routes[1].hooks: → GET /x'])
  assert.equal(api.lastRequest?.headers.get('x-seen'), '1')

  const boom = await proxy.request('/boom')
  assert.equal(boom.status, 500)
  assert.deepEqual(boom.trace.hooksIn('onRequest'), ['routes[0].hooks: threw kaput'])
  assert.match(boom.trace.errors[0]!.message, /^500 onRequest hook of 'routes\[0\]\.hooks' threw: kaput/)
})

test('trace.toString(): one readable line per event', async (t) => {
  const api = mockUpstream()
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1'] } },
    routes: [{ name: 'users', match: { path: '/users/:id', method: 'GET' }, to: 'api' }],
  }, { upstreams: { api } })
  t.after(() => proxy.close())
  const { trace } = await proxy.request('/users/7')
  const host = api.url.replace('http://', '')
  assert.equal(trace.toString(), [
    'route     #0 "users" matched method GET, path /users/:id {id: "7"} → forward to api',
    `balancer  api: api (${host}) by policy round-robin [1/1 candidates]`,
    `attempt   #1 api (${host}) → status 200`,
    `end       200 from api (${host})`,
  ].join('\n'))
  assert.equal(trace.describe('> ').split('\n')[0], '> route     #0 "users" matched method GET, path /users/:id {id: "7"} → forward to api')
  assert.equal(JSON.parse(JSON.stringify(trace)).length, 4)
})

test('in memory under load: concurrent requests with bodies both ways, streamed responses', async (t) => {
  const api = mockUpstream(async (req) => {
    const body = new Uint8Array(await req.arrayBuffer())
    // Answer with the body twice, in chunks.
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body)
        controller.enqueue(body)
        controller.close()
      },
    })
    return new Response(stream, { headers: { 'x-len': String(body.length) } })
  })
  const proxy = await createTestProxy({ upstreams: { api: { servers: ['http://127.0.0.1:1'] } }, routes: [{ to: 'api' }] }, { upstreams: { api } })
  t.after(() => proxy.close())
  const sizes = Array.from({ length: 100 }, (_, i) => (i % 10) * 50_000 + i)
  const results = await Promise.all(sizes.map((n, i) => proxy.request(`/echo/${i}`, { method: 'POST', body: Buffer.alloc(n, i % 251) })))
  results.forEach((res, i) => {
    assert.equal(res.status, 200)
    assert.equal(res.body.length, sizes[i]! * 2)
    assert.ok(res.body.every((byte) => byte === i % 251))
    assert.equal(res.trace.end?.status, 200)
  })
  for (let i = 0; i < 200; i++) assert.equal((await proxy.request('/seq', { method: 'POST', body: String(i) })).body.toString(), `${i}${i}`)
})

test('listen: true serves on a real 127.0.0.1 port; request() goes through it with its trace', async (t) => {
  const api = mockUpstream()
  const proxy = await createTestProxy({ upstreams: { api: { servers: ['http://127.0.0.1:1'] } }, routes: [{ to: 'api' }] }, { upstreams: { api }, listen: true })
  t.after(() => proxy.close())
  assert.match(proxy.url ?? '', /^http:\/\/127\.0\.0\.1:\d+$/)
  const viaFetch = await fetch(`${proxy.url}/from-fetch`)
  assert.equal(((await viaFetch.json()) as { path: string }).path, '/from-fetch')
  const res = await proxy.request('/kit')
  assert.equal(res.status, 200)
  assert.equal(res.trace.route?.index, 0)
  assert.equal(res.trace.servedBy, 'api')
})

test('a config file through the real loader; it may import switchyard/testing; unknown groups are refused', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  const file = dir.write('proxy.config.ts', `
    import { defineConfig } from 'switchyard'
    import { mockUpstream } from 'switchyard/testing'
    export default defineConfig(({ mode }) => ({
      upstreams: { api: { servers: [process.env.API_URL ?? 'http://127.0.0.1:3001'] } },
      routes: [{ match: { path: '/mode' }, respond: { body: mode + ':' + typeof mockUpstream } }, { to: 'api' }],
    }))
  `)
  const api = mockUpstream()
  const proxy = await createTestProxy(file, { upstreams: { api }, mode: 'dev' })
  t.after(() => proxy.close())
  assert.equal((await proxy.request('/mode')).text(), 'dev:function')
  assert.equal((await proxy.request('/x')).trace.servedBy, 'api')

  const other = mockUpstream()
  await assert.rejects(createTestProxy(file, { upstreams: { nope: other } }), /the config has no upstream 'nope' \(it has: api\)/)
  await assert.rejects(fetch(other.url), 'the mock was closed when createTestProxy failed')
})

test('teardown: close() stops the runtime and the mocks; nothing stays listening', async () => {
  const before = await settledListeners(0) // earlier tests' servers may still be closing
  const mocks: MockUpstream[] = [mockUpstream(), mockUpstream()]
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], health: { path: '/health', interval: '1s' } } },
    routes: [{ to: 'api' }, { match: { path: '/c' }, to: 'api', cache: true }],
  }, { upstreams: { api: mocks } })
  assert.equal(listeners(), before + 2, 'only the two mocks listen')
  await proxy.request('/a')
  await proxy.request('/c')
  await proxy.close()
  await proxy.close() // idempotent
  assert.equal(await settledListeners(before), before)
  await assert.rejects(proxy.request('/'), /after close/)
  for (const m of mocks) await assert.rejects(fetch(m.url))
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startProxy, http } from '../helpers/servers.js'

test('handler gets a Web Request, params (decoded), clientIp and route; returns a Response', async (t) => {
  const proxy = await startProxy({
    routes: [{
      name: 'hello',
      match: { path: '/hello/:name' },
      handle: async (req, ctx) => Response.json({
        name: ctx.params.name, ip: ctx.clientIp, route: ctx.route, method: req.method,
        url: req.url, header: req.headers.get('x-test'), body: await req.text(),
      }, { status: 201, headers: { 'x-from': 'handler' } }),
    }],
  })
  t.after(() => proxy.close())
  const res = await http(`${proxy.url}/hello/w%C3%B6rld?q=1`, { method: 'POST', headers: { 'x-test': 'yes', host: 'h.example' }, body: 'payload' })
  assert.equal(res.status, 201)
  assert.equal(res.headers['x-from'], 'handler')
  assert.deepEqual(JSON.parse(res.body.toString()), {
    name: 'wörld', ip: '127.0.0.1', route: 'hello', method: 'POST', url: 'http://h.example/hello/w%C3%B6rld?q=1', header: 'yes', body: 'payload',
  })
})

test('ctx.forward: the incoming request as is, or with init; the response streams back', async (t) => {
  const backend = await echoBackend('api')
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/as-is' }, handle: (_req, ctx) => ctx.forward('api') },
      {
        match: { path: '/changed/:id' },
        handle: async (_req, ctx) => {
          const res = await ctx.forward('api', { method: 'PUT', path: `/internal/${ctx.params.id}`, headers: { 'x-added': '1' }, body: 'new body' })
          const headers = new Headers(res.headers)
          headers.set('x-wrapped', 'yes')
          return new Response(res.body, { status: res.status, headers })
        },
      },
      { match: { path: '/unknown' }, handle: (_req, ctx) => ctx.forward('nope') },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const asIs = await http(`${proxy.url}/as-is?x=1`, { method: 'POST', body: 'original' })
  const e1 = JSON.parse(asIs.body.toString())
  assert.equal(e1.url, '/as-is?x=1')
  assert.equal(e1.method, 'POST')
  assert.equal(e1.body, 'original')
  assert.equal(asIs.headers['x-backend'], 'api')
  const changed = await http(`${proxy.url}/changed/9`)
  const e2 = JSON.parse(changed.body.toString())
  assert.deepEqual([e2.method, e2.url, e2.body], ['PUT', '/internal/9', 'new body'])
  assert.ok(e2.rawHeaders.includes('x-added'))
  assert.ok(e2.rawHeaders.includes('x-forwarded-for'))
  assert.equal(changed.headers['x-wrapped'], 'yes')
  const unknown = await http(`${proxy.url}/unknown`)
  assert.equal(unknown.status, 500)
  assert.match(proxy.log.lines.at(-1)!.message, /unknown upstream 'nope' \(known: api\)/)
})

test('a handler that throws → 500 for that request only; the proxy keeps serving', async (t) => {
  const proxy = await startProxy({
    routes: [
      { match: { path: '/boom' }, handle: () => { throw new Error('kaboom') } },
      { match: { path: '/async-boom' }, handle: async () => Promise.reject(new TypeError('async kaboom')) },
      { match: { path: '/not-a-response' }, handle: () => 'hello' as unknown as Response },
      { match: { path: '/ok' }, respond: { body: 'fine' } },
    ],
  })
  t.after(() => proxy.close())
  assert.equal((await http(`${proxy.url}/boom`)).status, 500)
  assert.equal((await http(`${proxy.url}/async-boom`)).status, 500)
  assert.equal((await http(`${proxy.url}/not-a-response`)).status, 500)
  assert.equal((await http(`${proxy.url}/ok`)).body.toString(), 'fine')
  const errors = proxy.log.lines.filter((l) => l.level === 'error').map((l) => l.message)
  assert.match(errors[0]!, /handler threw: Error: kaboom/)
  assert.match(errors[1]!, /async kaboom/)
  assert.match(errors[2]!, /returned string, expected a Response/)
})

test('a handler slower than handlerTimeout → 504', async (t) => {
  const proxy = await startProxy({
    routes: [{ match: { path: '/slow' }, handlerTimeout: '100ms', handle: () => new Promise<Response>(() => {}) }],
  })
  t.after(() => proxy.close())
  assert.equal((await http(`${proxy.url}/slow`)).status, 504)
})

test('ctx.forward to a dead upstream → 502 unless the handler catches it', async (t) => {
  const proxy = await startProxy({
    upstreams: { dead: { servers: ['http://127.0.0.1:1'] } },
    routes: [
      { match: { path: '/plain' }, handle: (_req, ctx) => ctx.forward('dead') },
      { match: { path: '/fallback' }, handle: (_req, ctx) => ctx.forward('dead').catch(() => new Response('fallback', { status: 200 })) },
    ],
  })
  t.after(() => proxy.close())
  assert.equal((await http(`${proxy.url}/plain`)).status, 502)
  const fb = await http(`${proxy.url}/fallback`)
  assert.equal(fb.status, 200)
  assert.equal(fb.body.toString(), 'fallback')
})

test('redirect and respond routes', async (t) => {
  const proxy = await startProxy({
    routes: [
      { match: { path: '/old/*' }, redirect: { to: '/new/:splat', status: 301 } },
      { match: { path: '/u/:id' }, redirect: 'https://example.com/users/:id' },
      { match: { path: '/noq/*' }, redirect: { to: '/x', preserveQuery: false } },
      { match: { path: '/health' }, respond: { status: 200, body: 'ok', headers: { 'x-h': '1' } } },
      { match: { path: '/json' }, respond: { status: 202, body: { ok: true } } },
    ],
  })
  t.after(() => proxy.close())
  const r1 = await http(`${proxy.url}/old/a/b?q=1`)
  assert.equal(r1.status, 301)
  assert.equal(r1.headers.location, '/new/a/b?q=1')
  const r2 = await http(`${proxy.url}/u/7`)
  assert.equal(r2.status, 302)
  assert.equal(r2.headers.location, 'https://example.com/users/7')
  assert.equal((await http(`${proxy.url}/noq/z?q=1`)).headers.location, '/x')
  const h = await http(`${proxy.url}/health`)
  assert.deepEqual([h.status, h.body.toString(), h.headers['x-h'], h.headers['content-type']], [200, 'ok', '1', 'text/plain; charset=utf-8'])
  const head = await http(`${proxy.url}/health`, { method: 'HEAD' })
  assert.deepEqual([head.status, head.body.length, head.headers['content-length']], [200, 0, '2'])
  const j = await http(`${proxy.url}/json`)
  assert.deepEqual([j.status, j.body.toString(), j.headers['content-type']], [202, '{"ok":true}', 'application/json'])
})

test('a handler may cancel a forwarded body or its own request body; the proxy keeps serving', async (t) => {
  const backend = await echoBackend('api')
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/fwd' }, handle: async (_req, ctx) => { const r = await ctx.forward('api'); await r.body?.cancel(); return new Response('forward cancelled') } },
      { match: { path: '/req' }, handle: async (req) => { await req.body?.cancel(); return new Response('request body cancelled') } },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  for (let i = 0; i < 3; i++) {
    assert.equal((await http(`${proxy.url}/fwd`)).body.toString(), 'forward cancelled')
    assert.equal((await http(`${proxy.url}/req`, { method: 'POST', body: 'x'.repeat(200_000) })).body.toString(), 'request body cancelled')
  }
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startBackend, startProxy, http } from '../helpers/servers.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { Middleware } from '../../src/config/hooks.js'
import { configProblems } from '../helpers/config-problems.js'

interface Echo { method: string; url: string; rawHeaders: string[]; body: string }

function tracer(name: string, calls: string[]): Middleware {
  return {
    name,
    onRequest: () => void calls.push(`${name}.onRequest`),
    onUpstreamRequest: () => void calls.push(`${name}.onUpstreamRequest`),
    onUpstreamResponse: () => void calls.push(`${name}.onUpstreamResponse`),
    onResponse: () => void calls.push(`${name}.onResponse`),
    onLog: () => void calls.push(`${name}.onLog`),
  }
}

test('order: global use, global hooks, route use, route hooks; response phases in reverse; onLog once each', async (t) => {
  const backend = await echoBackend()
  const calls: string[] = []
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    use: [tracer('g1', calls), tracer('g2', calls)],
    hooks: { onRequest: () => void calls.push('gh.onRequest') },
    routes: [{ to: 'b', use: [tracer('r1', calls)], hooks: { onResponse: () => void calls.push('rh.onResponse') } }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  assert.equal((await http(`${proxy.url}/x`)).status, 200)
  await waitFor(() => calls.filter((c) => c.endsWith('onLog')).length === 3)
  assert.deepEqual(calls, [
    'g1.onRequest', 'g2.onRequest', 'gh.onRequest', 'r1.onRequest',
    'g1.onUpstreamRequest', 'g2.onUpstreamRequest', 'r1.onUpstreamRequest',
    'r1.onUpstreamResponse', 'g2.onUpstreamResponse', 'g1.onUpstreamResponse',
    'rh.onResponse', 'r1.onResponse', 'g2.onResponse', 'g1.onResponse',
    'g1.onLog', 'g2.onLog', 'r1.onLog',
  ])
})

test('onRequest answers early: no upstream request, onResponse still runs, state is shared', async (t) => {
  let upstreamHits = 0
  const backend = await startBackend((_req, res) => { upstreamHits++; res.end('upstream') })
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [{
      to: 'b',
      hooks: {
        onRequest: (ctx) => {
          ctx.state.user = ctx.headers.get('x-user')
          if (!ctx.headers.get('authorization')) return new Response('login first', { status: 401, headers: { 'www-authenticate': 'Bearer' } })
        },
        onResponse: (ctx, res) => {
          const headers = new Headers(res.headers)
          headers.set('x-user-seen', String(ctx.state.user))
          return new Response(res.body, { status: res.status, headers })
        },
      },
    }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const denied = await http(`${proxy.url}/`, { headers: { 'x-user': 'ann' } })
  assert.deepEqual([denied.status, denied.body.toString(), denied.headers['x-user-seen']], [401, 'login first', 'ann'])
  assert.equal(upstreamHits, 0)
  const allowed = await http(`${proxy.url}/`, { headers: { 'x-user': 'bob', authorization: 'Bearer t' } })
  assert.deepEqual([allowed.status, allowed.body.toString(), allowed.headers['x-user-seen']], [200, 'upstream', 'bob'])
  assert.equal(upstreamHits, 1)
})

test('selectUpstream overrides the group (and a server); onUpstreamRequest rewrites method, path, headers and body', async (t) => {
  const a = await echoBackend('a')
  const b = await echoBackend('b')
  const proxy = await startProxy({
    upstreams: { a: { servers: [a.url] }, b: { servers: [b.url] } },
    routes: [{
      to: 'a',
      hooks: {
        selectUpstream: (ctx) => (ctx.headers.get('x-canary') === '1' ? 'b' : undefined),
        onUpstreamRequest: (ctx, req) => {
          if (ctx.url.pathname !== '/rewrite') return
          req.method = 'PUT'
          req.path = '/changed?x=1'
          req.headers.set('x-added', 'yes')
          req.headers.delete('x-secret')
          req.body = new Response('replaced body').body
        },
      },
    }],
  })
  t.after(() => proxy.close())
  t.after(() => a.close())
  t.after(() => b.close())
  assert.equal((await http(`${proxy.url}/`)).headers['x-backend'], 'a')
  assert.equal((await http(`${proxy.url}/`, { headers: { 'x-canary': '1' } })).headers['x-backend'], 'b')
  const res = await http(`${proxy.url}/rewrite`, { method: 'POST', headers: { 'x-secret': 's', 'content-type': 'text/plain' }, body: 'original' })
  const echo = JSON.parse(res.body.toString()) as Echo
  assert.deepEqual([echo.method, echo.url, echo.body], ['PUT', '/changed?x=1', 'replaced body'])
  const names = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
  assert.ok(names.includes('x-added'))
  assert.ok(!names.includes('x-secret'))
  assert.ok(names.includes('x-forwarded-for'))
})

test('onUpstreamResponse edits the head; onResponse transforms the body as a stream', async (t) => {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const backend = await startBackend(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'x-internal': 'secret' })
    res.write('<p>hello ')
    await released
    res.end('world</p>')
  })
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [{
      to: 'b',
      hooks: {
        onUpstreamResponse: (_ctx, res) => {
          res.headers.delete('x-internal')
          res.headers.set('x-checked', '1')
        },
        onResponse: (_ctx, res) => {
          const upper = new TransformStream<Uint8Array, Uint8Array>({
            transform: (chunk, c) => c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
          })
          const headers = new Headers(res.headers)
          headers.delete('content-length')
          return new Response(res.body!.pipeThrough(upper), { status: res.status, headers })
        },
      },
    }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const { request } = await import('node:http')
  const req = request(`${proxy.url}/`, { agent: false })
  req.end()
  const res = await new Promise<import('node:http').IncomingMessage>((r) => req.on('response', r))
  assert.equal(res.headers['x-internal'], undefined)
  assert.equal(res.headers['x-checked'], '1')
  const first = await new Promise<Buffer>((r) => res.once('data', r))
  assert.equal(first.toString(), '<P>HELLO ') // streamed before the upstream finished
  release()
  let rest = ''
  for await (const c of res) rest += c
  assert.equal(rest, 'WORLD</P>')
})

test('onError answers upstream failures; without it the default 502; a throwing hook → 500 and the proxy keeps serving', async (t) => {
  const proxy = await startProxy({
    upstreams: { dead: { servers: ['http://127.0.0.1:1'] } },
    routes: [
      { match: { path: '/friendly' }, to: 'dead', hooks: { onError: (_ctx, err) => new Response(`sorry (${err.status})`, { status: 503 }) } },
      { match: { path: '/plain' }, to: 'dead', hooks: { onRequest: () => {} } },
      { match: { path: '/throws' }, respond: { body: 'x' }, hooks: { onRequest: () => { throw new Error('hook bug') } } },
      { match: { path: '/ok' }, respond: { body: 'ok' }, hooks: { onResponse: () => {} } },
    ],
  })
  t.after(() => proxy.close())
  const friendly = await http(`${proxy.url}/friendly`)
  assert.deepEqual([friendly.status, friendly.body.toString()], [503, 'sorry (502)'])
  assert.equal((await http(`${proxy.url}/plain`)).status, 502)
  assert.equal((await http(`${proxy.url}/throws`)).status, 500)
  assert.ok(proxy.log.lines.some((l) => /onRequest hook of 'routes\[2\]\.hooks' threw: hook bug/.test(l.message)))
  assert.equal((await http(`${proxy.url}/ok`)).body.toString(), 'ok')
})

test('hooks wrap handler, respond and redirect routes too; ctx.rewrite re-canonicalizes; setDeadline → 504', async (t) => {
  const backend = await echoBackend()
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    use: [{ name: 'stamp', onResponse: (_ctx, res) => { const h = new Headers(res.headers); h.set('x-stamp', '1'); return new Response(res.body, { status: res.status, headers: h }) } }],
    routes: [
      { match: { path: '/h' }, handle: (req) => new Response(`handled ${new URL(req.url).pathname}`) },
      { match: { path: '/r' }, respond: { body: 'responded' } },
      { match: { path: '/old' }, redirect: '/new' },
      { match: { path: '/api/*' }, to: 'b', hooks: { onRequest: (ctx) => ctx.rewrite(`/v2/../internal/${ctx.params.splat}`) } },
      { match: { path: '/slow' }, handle: () => new Promise<Response>(() => {}), hooks: { onRequest: (ctx) => ctx.setDeadline(100) } },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const h = await http(`${proxy.url}/h`)
  assert.deepEqual([h.body.toString(), h.headers['x-stamp']], ['handled /h', '1'])
  assert.equal((await http(`${proxy.url}/r`)).headers['x-stamp'], '1')
  const redirect = await http(`${proxy.url}/old`)
  assert.deepEqual([redirect.status, redirect.headers.location, redirect.headers['x-stamp']], [302, '/new', '1'])
  assert.equal((JSON.parse((await http(`${proxy.url}/api/users?q=1`)).body.toString()) as Echo).url, '/internal/users?q=1')
  assert.equal((await http(`${proxy.url}/slow`)).status, 504)
})

test('config validation of use and hooks', () => {
  const base = { routes: [{ respond: { body: 'x' } }] }
  const fail = configProblems
  const cors = () => ({ name: 'cors', onRequest: () => {} })
  assert.match(fail({ ...base, use: [cors] }), /use\[0\]: expected a middleware object, got function .*did you forget to call it/)
  assert.match(fail({ ...base, hooks: { onRequst: () => {} } }), /hooks\.onRequst: unknown phase/)
  assert.match(fail({ routes: [{ respond: { body: 'x' }, hooks: { onResponse: 'no' } }] }), /routes\[0\]\.hooks\.onResponse: expected a function/)
  assert.match(fail({ ...base, use: [{ onRequest: () => {} }] }), /use\[0\]\.name: a middleware needs a name/)
  assert.equal(resolveConfig({ ...base, use: [cors()] }, 'start').layers.length, 1)
})

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r))
}

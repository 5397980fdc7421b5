// headers, rewrite, redirect, httpsRedirect, respond, timeout, requestId — through a real proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startBackend, startProxy, http } from '../helpers/servers.js'
import { headers, rewrite, redirect, httpsRedirect, respond, timeout, requestId } from '../../src/middleware/index.js'

const echoOf = (body: Buffer) => JSON.parse(body.toString()) as { url: string; method: string; rawHeaders: string[]; body: string }
const headerOf = (raw: string[], name: string) => raw.filter((_, i) => i % 2 === 0 && raw[i]!.toLowerCase() === name).map((n) => raw[raw.indexOf(n) + 1])

test('headers + rewrite: request headers and path changed upstream, response headers changed', async (t) => {
  const backend = await startBackend((req, res) => {
    res.writeHead(200, { server: 'backend/1.0', 'content-type': 'application/json' })
    res.end(JSON.stringify({ url: req.url, rawHeaders: req.rawHeaders }))
  })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    use: [headers({ request: { set: { 'x-env': 'test' }, remove: ['x-debug'] }, response: { remove: ['server'], add: { 'x-via': 'switchyard' } } })],
    routes: [
      { match: { path: '/api/*' }, to: 'api', use: [rewrite({ stripPrefix: '/api', replace: [/^\/v1\//, '/'] })] },
      { match: { path: '/*' }, to: 'api' },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const res = await http(`${proxy.url}/api/v1/users?page=2`, { headers: { 'x-debug': '1' } })
  assert.equal(res.status, 200)
  const seen = echoOf(res.body)
  assert.equal(seen.url, '/users?page=2')
  assert.deepEqual(headerOf(seen.rawHeaders, 'x-env'), ['test'])
  assert.deepEqual(headerOf(seen.rawHeaders, 'x-debug'), [])
  assert.equal(res.headers.server, undefined)
  assert.equal(res.headers['x-via'], 'switchyard')
  // The rewritten path is canonicalized again.
  assert.equal(echoOf((await http(`${proxy.url}/api//a/./b/../c`)).body).url, '/a/c')
})

test('redirect, httpsRedirect and respond answer without an upstream', async (t) => {
  const backend = await echoBackend('api')
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/old/*' }, to: 'api', use: [redirect({ to: '/new/:splat', status: 308 })] },
      { match: { path: '/secure/*' }, to: 'api', use: [httpsRedirect({ trustProxy: ['loopback'] })] },
      { match: { path: '/maintenance' }, to: 'api', use: [respond({ status: 503, body: 'later', headers: { 'retry-after': '60' } })] },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const r = await http(`${proxy.url}/old/a/b?x=1`)
  assert.deepEqual([r.status, r.headers.location], [308, '/new/a/b?x=1'])
  const get = await http(`${proxy.url}/secure/page?q=1`, { headers: { host: 'shop.test:8080' } })
  assert.deepEqual([get.status, get.headers.location], [301, 'https://shop.test/secure/page?q=1'])
  const post = await http(`${proxy.url}/secure/form`, { method: 'POST', body: 'x', headers: { host: 'shop.test' } })
  assert.equal(post.status, 308)
  const behindTls = await http(`${proxy.url}/secure/page`, { headers: { 'x-forwarded-proto': 'https' } })
  assert.equal(behindTls.status, 200)
  assert.equal(echoOf(behindTls.body).url, '/secure/page')
  const m = await http(`${proxy.url}/maintenance`)
  assert.deepEqual([m.status, m.headers['retry-after'], m.body.toString()], [503, '60', 'later'])
})

test('timeout: a deadline set by middleware gives 504 when the upstream is slower', async (t) => {
  const held: Array<() => void> = []
  const backend = await startBackend((_req, res) => void held.push(() => res.end('late')))
  const proxy = await startProxy({
    upstreams: { slow: { servers: [backend.url] } },
    routes: [{ to: 'slow', use: [timeout({ total: 150 })] }],
  })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  t.after(() => held.forEach((f) => f()))
  assert.equal((await http(`${proxy.url}/`)).status, 504)
})

test('requestId: valid incoming ids pass through, others are generated; sent upstream and back', async (t) => {
  const backend = await echoBackend('api')
  const logged: Array<[string, number]> = []
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    use: [requestId({ log: (id, record) => void logged.push([id, record.status]) })],
    routes: [
      { match: { path: '/early' }, to: 'api', use: [respond({ body: 'early' })] },
      { to: 'api' },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const passed = await http(`${proxy.url}/a`, { headers: { 'x-request-id': 'abc-123' } })
  assert.equal(passed.headers['x-request-id'], 'abc-123')
  assert.deepEqual(headerOf(echoOf(passed.body).rawHeaders, 'x-request-id'), ['abc-123'])
  const generated = await http(`${proxy.url}/b`, { headers: { 'x-request-id': 'has spaces in it' } })
  const id = generated.headers['x-request-id'] as string
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  assert.deepEqual(headerOf(echoOf(generated.body).rawHeaders, 'x-request-id'), [id])
  const early = await http(`${proxy.url}/early`)
  assert.match(early.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/)
  assert.deepEqual(logged.map(([i]) => i).slice(0, 2), ['abc-123', id])
  assert.equal(logged.length, 3)
})

test('response headers from middleware reach a handler\'s Response.redirect (immutable headers) and a large forwarded body alike', async (t) => {
  const big = Buffer.alloc(512 * 1024, 'z')
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length })
    res.end(big)
  })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    use: [requestId({ generate: () => 'fixed-id' }), headers({ response: { add: { 'x-via': 'switchyard' } } })],
    routes: [
      { match: { path: '/moved' }, handle: () => Response.redirect('http://127.0.0.1/elsewhere', 302) },
      { to: 'api' },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const moved = await http(`${proxy.url}/moved`)
  assert.equal(moved.status, 302)
  assert.equal(moved.headers.location, 'http://127.0.0.1/elsewhere')
  assert.equal(moved.headers['x-request-id'], 'fixed-id')
  assert.equal(moved.headers['x-via'], 'switchyard')
  const forwarded = await http(`${proxy.url}/file`)
  assert.equal(forwarded.status, 200)
  assert.equal(forwarded.headers['x-request-id'], 'fixed-id')
  assert.equal(forwarded.headers['x-via'], 'switchyard')
  assert.equal(forwarded.headers['content-length'], String(big.length))
  assert.ok(forwarded.body.equals(big))
})

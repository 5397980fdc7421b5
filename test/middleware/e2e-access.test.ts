// cors, basicAuth, ipFilter, bodyLimit — through a real proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startBackend, startProxy, http } from '../helpers/servers.js'
import { cors, basicAuth, hashPassword, ipFilter, bodyLimit } from '../../src/middleware/index.js'
import { chunkedRequest } from './e2e-helpers.js'

const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` })

test('cors: preflight answered by the proxy (upstream never sees it); actual responses get the headers', async (t) => {
  let upstreamOptions = 0
  const backend = await startBackend((req, res) => {
    if (req.method === 'OPTIONS') upstreamOptions++
    res.writeHead(200, { 'content-type': 'text/plain', vary: 'Accept-Encoding' })
    res.end('data')
  })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    use: [cors({ origin: ['https://app.test'], credentials: true, maxAge: '1h', exposedHeaders: ['x-total'] })],
    routes: [{ to: 'api' }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const pre = await http(`${proxy.url}/items`, { method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'authorization' } })
  assert.equal(pre.status, 204)
  assert.equal(pre.headers['access-control-allow-origin'], 'https://app.test')
  assert.equal(pre.headers['access-control-allow-credentials'], 'true')
  assert.match(pre.headers['access-control-allow-methods'] as string, /DELETE/)
  assert.equal(pre.headers['access-control-allow-headers'], 'authorization')
  assert.equal(pre.headers['access-control-max-age'], '3600')
  assert.equal(upstreamOptions, 0)
  const actual = await http(`${proxy.url}/items`, { headers: { origin: 'https://app.test' } })
  assert.equal(actual.body.toString(), 'data')
  assert.equal(actual.headers['access-control-allow-origin'], 'https://app.test')
  assert.equal(actual.headers['access-control-expose-headers'], 'x-total')
  assert.equal(actual.headers.vary, 'Accept-Encoding, Origin')
  const evil = await http(`${proxy.url}/items`, { headers: { origin: 'https://evil.test' } })
  assert.equal(evil.headers['access-control-allow-origin'], undefined)
  // Non-preflight OPTIONS goes upstream.
  await http(`${proxy.url}/items`, { method: 'OPTIONS', headers: { origin: 'https://app.test' } })
  assert.equal(upstreamOptions, 1)
})

test('basicAuth: plain and scrypt-hashed users; 401 with a challenge; the upstream only sees authorized requests', async (t) => {
  const backend = await echoBackend('api')
  const hash = await hashPassword('hashed-pw', { N: 1024 })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/admin/*' }, to: 'api', use: [basicAuth({ realm: 'admin', users: { ada: 'plain-pw', bob: { hash } } })] },
      { to: 'api' },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const none = await http(`${proxy.url}/admin/x`)
  assert.equal(none.status, 401)
  assert.equal(none.headers['www-authenticate'], 'Basic realm="admin", charset="UTF-8"')
  assert.equal(none.headers['x-backend'], undefined)
  assert.equal((await http(`${proxy.url}/admin/x`, { headers: basic('ada', 'plain-pw') })).headers['x-backend'], 'api')
  assert.equal((await http(`${proxy.url}/admin/x`, { headers: basic('bob', 'hashed-pw') })).headers['x-backend'], 'api')
  assert.equal((await http(`${proxy.url}/admin/x`, { headers: basic('bob', 'plain-pw') })).status, 401)
  assert.equal((await http(`${proxy.url}/admin/x`, { headers: basic('eve', 'plain-pw') })).status, 401)
  assert.equal((await http(`${proxy.url}/public`)).status, 200)
})

test('ipFilter: v4 / v6 / IPv4-mapped via trusted X-Forwarded-For; deny wins; untrusted XFF ignored', async (t) => {
  const backend = await echoBackend('api')
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/trusted/*' }, to: 'api', use: [ipFilter({ allow: ['203.0.113.0/24', '2001:db8::/32'], deny: ['203.0.113.66'], trustProxy: ['loopback', '10.0.0.0/8'] })] },
      { match: { path: '/direct/*' }, to: 'api', use: [ipFilter({ allow: ['203.0.113.0/24'] })] },
      { match: { path: '/local/*' }, to: 'api', use: [ipFilter({ allow: ['127.0.0.1'], deny: ['10.0.0.0/8'] })] },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const status = async (path: string, xff?: string) => (await http(`${proxy.url}${path}`, { headers: xff ? { 'x-forwarded-for': xff } : {} })).status
  assert.equal(await status('/trusted/a', '203.0.113.5'), 200)
  assert.equal(await status('/trusted/a', '203.0.113.5, 10.1.2.3'), 200) // through another trusted proxy
  assert.equal(await status('/trusted/a', '203.0.113.66'), 403) // denied
  assert.equal(await status('/trusted/a', '198.51.100.1'), 403)
  assert.equal(await status('/trusted/a', '203.0.113.5, 198.51.100.1'), 403) // the spoofed left entry is not the client
  assert.equal(await status('/trusted/a', '2001:db8::42'), 200)
  assert.equal(await status('/trusted/a', '::ffff:203.0.113.9'), 200)
  assert.equal(await status('/trusted/a', '2001:db9::1'), 403)
  assert.equal(await status('/trusted/a'), 403) // the loopback peer itself is not allowed
  // Without trustProxy the header is ignored: the peer is 127.0.0.1.
  assert.equal(await status('/direct/a', '203.0.113.5'), 403)
  assert.equal(await status('/local/a', '10.0.0.1'), 200)
})

test('bodyLimit: 413 on Content-Length before reading; chunked bodies counted on the way upstream', async (t) => {
  let received = 0
  let requests = 0
  const backend = await startBackend((req, res) => {
    requests++
    req.on('data', (c: Buffer) => (received += c.length))
    req.on('end', () => res.end(`got ${received}`))
    req.on('error', () => {})
  })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [{ to: 'api', use: [bodyLimit({ max: '64kb' })] }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const cl = await http(`${proxy.url}/upload`, { method: 'POST', headers: { 'content-length': String(100 * 1024) }, body: Buffer.alloc(100 * 1024) })
  assert.equal(cl.status, 413)
  assert.equal(requests, 0)
  const small = await chunkedRequest(`${proxy.url}/upload`, [Buffer.alloc(1000), Buffer.alloc(1000)])
  assert.deepEqual([small.status, small.body.toString()], [200, 'got 2000'])
  const big = await chunkedRequest(`${proxy.url}/upload`, Array.from({ length: 40 }, () => Buffer.alloc(8 * 1024)))
  assert.equal(big.status, 413)
  assert.ok(received < 2000 + 64 * 1024 + 16 * 1024, `upstream got ${received} bytes`)
  // The proxy keeps serving.
  assert.equal((await chunkedRequest(`${proxy.url}/upload`, [Buffer.alloc(10)])).status, 200)
})

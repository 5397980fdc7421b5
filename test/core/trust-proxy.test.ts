// The top-level trustProxy option: whose X-Forwarded-For / -Proto / -Host are believed, and
// everything that follows from it (ctx.clientIp, ctx.url, the headers sent upstream, ip-hash,
// rateLimit keys, ipFilter, httpsRedirect). Peers other than 127.0.0.1 through the test kit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { ipFilter, rateLimit, httpsRedirect } from '../../src/middleware/index.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { ConfigError } from '../../src/config/config-error.js'
import { configProblems } from '../helpers/config-problems.js'

interface Echo { path: string; headers: Record<string, string> }

const FORWARDED = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.1.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'shop.example' }

test('trustProxy: a trusted peer sets ctx.clientIp, ctx.url and the X-Forwarded-* sent upstream; others are not believed', async (t) => {
  const api = mockUpstream()
  const seen: Array<Record<string, string>> = []
  const proxy = await createTestProxy({
    trustProxy: ['10.0.0.0/8'],
    forwardedHeaders: { forwarded: true },
    log: { access: true },
    upstreams: { api: { servers: ['http://127.0.0.1:9'] } },
    routes: [
      { match: { path: '/hooked' }, to: 'api', hooks: { onRequest: (ctx) => void seen.push({ clientIp: ctx.clientIp, peerIp: ctx.peerIp, url: ctx.url.href, request: ctx.request.url }) } },
      { match: { path: '/handler' }, handle: (req, ctx) => Response.json({ clientIp: ctx.clientIp, peerIp: ctx.peerIp, url: req.url }) },
      { to: 'api' },
    ],
  }, { upstreams: { api } })
  t.after(() => proxy.close())

  // Trusted peer 10.0.0.5; the chain names an inner trusted proxy 10.1.1.1, the client
  // 203.0.113.9, and something the client made up on the left.
  const handler = (await proxy.request('/handler?q=1', { clientIp: '10.0.0.5', headers: FORWARDED })).json()
  assert.deepEqual(handler, { clientIp: '203.0.113.9', peerIp: '10.0.0.5', url: 'https://shop.example/handler?q=1' })
  await proxy.request('/hooked', { clientIp: '10.0.0.5', headers: FORWARDED })
  assert.deepEqual(seen.at(-1), { clientIp: '203.0.113.9', peerIp: '10.0.0.5', url: 'https://shop.example/hooked', request: 'https://shop.example/hooked' })
  const up = (await proxy.request('http://app.internal/x', { clientIp: '10.0.0.5', headers: FORWARDED })).json<Echo>()
  assert.equal(up.headers['x-forwarded-for'], '6.6.6.6, 203.0.113.9, 10.1.1.1, 10.0.0.5')
  assert.equal(up.headers['x-forwarded-proto'], 'https')
  assert.equal(up.headers['x-forwarded-host'], 'shop.example')
  assert.equal(up.headers.forwarded, 'for=10.0.0.5;host=shop.example;proto=https')
  assert.equal(up.headers.host, 'app.internal', "the Host sent upstream is still the client's")
  assert.equal(proxy.accessLog.at(-1)?.clientIp, '203.0.113.9')

  // Several values: the last one (set by the nearest proxy) counts; junk is ignored.
  const many = (await proxy.request('/handler', { clientIp: '10.0.0.5', headers: { 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'evil.example, shop.example' } })).json<{ url: string }>()
  assert.equal(many.url, 'http://shop.example/handler')
  const junk = (await proxy.request('/handler', { clientIp: '10.0.0.5', headers: { 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'bad host/x' } })).json<{ url: string }>()
  assert.equal(junk.url, 'http://localhost/handler')

  // An untrusted peer: its X-Forwarded-* are not believed, and its chain is not passed on.
  const direct = (await proxy.request('/handler', { clientIp: '198.51.100.7', headers: FORWARDED })).json()
  assert.deepEqual(direct, { clientIp: '198.51.100.7', peerIp: '198.51.100.7', url: 'http://localhost/handler' })
  const upDirect = (await proxy.request('/x', { clientIp: '198.51.100.7', headers: { ...FORWARDED, forwarded: 'for=6.6.6.6' } })).json<Echo>()
  assert.equal(upDirect.headers['x-forwarded-for'], '198.51.100.7')
  assert.equal(upDirect.headers['x-forwarded-proto'], 'http')
  assert.equal(upDirect.headers['x-forwarded-host'], 'localhost')
  assert.equal(upDirect.headers.forwarded, 'for=198.51.100.7;host=localhost;proto=http')
})

test('without trustProxy nothing changes: the client chain is appended to, Proto is http, ctx.url is http', async (t) => {
  const api = mockUpstream()
  const proxy = await createTestProxy({
    upstreams: { api: { servers: ['http://127.0.0.1:9'] } },
    routes: [{ match: { path: '/handler' }, handle: (req, ctx) => Response.json({ clientIp: ctx.clientIp, peerIp: ctx.peerIp, url: req.url }) }, { to: 'api' }],
  }, { upstreams: { api } })
  t.after(() => proxy.close())
  assert.deepEqual((await proxy.request('/handler', { clientIp: '10.0.0.5', headers: FORWARDED })).json(), { clientIp: '10.0.0.5', peerIp: '10.0.0.5', url: 'http://localhost/handler' })
  const up = (await proxy.request('/x', { clientIp: '10.0.0.5', headers: FORWARDED })).json<Echo>()
  assert.equal(up.headers['x-forwarded-for'], '6.6.6.6, 203.0.113.9, 10.1.1.1, 10.0.0.5')
  assert.equal(up.headers['x-forwarded-proto'], 'http')
  assert.equal(up.headers['x-forwarded-host'], 'localhost')
})

test('trustProxy feeds ip-hash, rateLimit keys, ipFilter and httpsRedirect; their own trustProxy options still win', async (t) => {
  const a = mockUpstream(undefined, { name: 'a' })
  const b = mockUpstream(undefined, { name: 'b' })
  const api = mockUpstream(undefined, { name: 'api' })
  const proxy = await createTestProxy({
    trustProxy: 'private',
    upstreams: {
      pair: { servers: ['http://127.0.0.1:9', 'http://127.0.0.1:10'], balance: 'ip-hash' },
      api: { servers: ['http://127.0.0.1:11'] },
    },
    routes: [
      { match: { path: '/hash' }, to: 'pair' },
      { match: { path: '/limited' }, to: 'api', use: [rateLimit({ limit: 1, window: '1h' })] },
      { match: { path: '/limited-by-peer' }, to: 'api', use: [rateLimit({ limit: 1, window: '1h', name: 'peer', trustProxy: [] })] },
      { match: { path: '/filtered' }, to: 'api', use: [ipFilter({ allow: ['203.0.113.0/24'] })] },
      { match: { path: '/filtered-own' }, to: 'api', use: [ipFilter({ allow: ['203.0.113.0/24'], trustProxy: ['loopback'] })] },
      { match: { path: '/secure' }, to: 'api', use: [httpsRedirect()] },
    ],
  }, { upstreams: { pair: [a, b], api } })
  t.after(() => proxy.close())
  const via = (peer: string, client: string, extra: Record<string, string> = {}) => ({ clientIp: peer, headers: { 'x-forwarded-for': client, ...extra } })

  // ip-hash keys on the client, whichever trusted proxy it comes through.
  const clients = Array.from({ length: 12 }, (_, i) => `198.51.${i}.7`)
  const servedBy = async (peer: string, client: string) => (await proxy.request('/hash', via(peer, client))).headers.get('x-upstream')
  const first = await Promise.all(clients.map((c) => servedBy('10.0.0.5', c)))
  const second = await Promise.all(clients.map((c) => servedBy('192.168.1.9', c)))
  assert.deepEqual(second, first)
  assert.equal(new Set(first).size, 2, 'clients spread over both servers')

  // rateLimit 'ip' keys on the client; with its own (empty) trustProxy, on the peer.
  assert.equal((await proxy.request('/limited', via('10.0.0.5', '203.0.113.1'))).status, 200)
  assert.equal((await proxy.request('/limited', via('10.0.0.6', '203.0.113.2'))).status, 200)
  assert.equal((await proxy.request('/limited', via('10.0.0.7', '203.0.113.1'))).status, 429)
  assert.equal((await proxy.request('/limited-by-peer', via('10.0.0.5', '203.0.113.1'))).status, 200)
  assert.equal((await proxy.request('/limited-by-peer', via('10.0.0.5', '203.0.113.2'))).status, 429)

  // ipFilter: the global setting by default; its own trustProxy replaces it.
  assert.equal((await proxy.request('/filtered', via('10.0.0.5', '203.0.113.9'))).status, 200)
  assert.equal((await proxy.request('/filtered', via('10.0.0.5', '198.51.100.1'))).status, 403)
  assert.equal((await proxy.request('/filtered', via('198.51.100.2', '203.0.113.9'))).status, 403, 'an untrusted peer cannot claim an allowed address')
  assert.equal((await proxy.request('/filtered-own', via('10.0.0.5', '203.0.113.9'))).status, 403, '10.0.0.5 is not a proxy for this ipFilter')
  assert.equal((await proxy.request('/filtered-own', via('127.0.0.1', '203.0.113.9'))).status, 200)

  // httpsRedirect sees the trusted X-Forwarded-Proto through ctx.url.
  assert.equal((await proxy.request('/secure', via('10.0.0.5', '203.0.113.9', { 'x-forwarded-proto': 'https' }))).status, 200)
  const redirected = await proxy.request('/secure', via('198.51.100.2', '203.0.113.9', { 'x-forwarded-proto': 'https' }))
  assert.deepEqual([redirected.status, redirected.headers.get('location')], [301, 'https://localhost/secure'])
})

test("trustProxy: a hop that is not an address is the client as written, never the trusted proxy's own address", async (t) => {
  const api = mockUpstream()
  const proxy = await createTestProxy({
    trustProxy: 'private',
    log: { access: true },
    upstreams: { api: { servers: ['http://127.0.0.1:9'] } },
    routes: [
      { match: { path: '/inside' }, to: 'api', use: [ipFilter({ allow: ['private'] })] },
      { match: { path: '/who' }, handle: (_req, ctx) => new Response(ctx.clientIp) },
    ],
  }, { upstreams: { api } })
  t.after(() => proxy.close())
  // A public client behind the private load balancer 10.0.0.5, which wrote junk as the nearest hop:
  // falling back to 10.0.0.5 would let the request in as a private address.
  const junk = { clientIp: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9, unknown' } }
  assert.equal((await proxy.request('/inside', junk)).status, 403)
  assert.equal((await proxy.request('/who', junk)).text(), 'unknown')
  assert.equal((await proxy.request('/who', { clientIp: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9,' } })).text(), 'unknown')
  assert.equal(proxy.accessLog.at(-1)?.clientIp, 'unknown')
  // A good chain still works both ways.
  assert.equal((await proxy.request('/inside', { clientIp: '10.0.0.5', headers: { 'x-forwarded-for': '203.0.113.9, 10.1.1.1' } })).status, 403)
  assert.equal((await proxy.request('/inside', { clientIp: '10.0.0.5', headers: { 'x-forwarded-for': '10.2.2.2' } })).status, 200)
})

test('trustProxy: a number trusts that many hops; validation names the bad entry and its line', () => {
  assert.equal(resolveConfig({ routes: [] }, 'start').trustProxy, undefined)
  const hops = resolveConfig({ trustProxy: 2, routes: [] }, 'start').trustProxy!
  assert.deepEqual([hops(new Uint8Array(16), 0), hops(new Uint8Array(16), 1), hops(new Uint8Array(16), 2)], [true, true, false])
  assert.equal(resolveConfig({ trustProxy: [], routes: [] }, 'start').trustProxy, undefined)

  assert.match(configProblems({ trustProxy: true, routes: [] }), /trustProxy: expected a list of proxy addresses.*got true — that would believe any client/)
  assert.match(configProblems({ trustProxy: ['10.0.0.0/8', '10.0.0.0/33'], routes: [] }), /trustProxy\[1\]: bad prefix length in '10\.0\.0\.0\/33'/)
  assert.match(configProblems({ trustProxy: 'localhost', routes: [] }), /trustProxy: not an IP address or CIDR: 'localhost' \(expected an address like/)
  assert.match(configProblems({ trustProxy: [42], routes: [] }), /trustProxy\[0\]: expected an address, a CIDR or one of loopback/)
  assert.match(configProblems({ trustProxy: -1, routes: [] }), /a number of hops must be an integer from 0 to 100, got -1/)
  assert.match(configProblems({ trustProxy: { cidrs: [] }, routes: [] }), /trustProxy: expected a list of proxy addresses .* got an object/)

  const source = "export default {\n  trustProxy: [\n    'loopback',\n    '10.0.0.300',\n  ],\n  routes: [],\n}\n"
  try {
    resolveConfig({ trustProxy: ['loopback', '10.0.0.300'], routes: [] }, 'start', 'proxy.config.ts')
    assert.fail('expected an error')
  } catch (err) {
    assert.match((err as ConfigError).locate(source).message, /^proxy\.config\.ts:4: trustProxy\[1\]: not an IP address or CIDR: '10\.0\.0\.300'/)
  }
})

test('trustProxy: behind a trusted TLS terminator, http and https requests are cached apart', async (t) => {
  let n = 0
  const api = mockUpstream(() => new Response(`v${++n}`, { headers: { 'cache-control': 'max-age=60' } }))
  const proxy = await createTestProxy({
    trustProxy: ['loopback', '10.0.0.0/8'],
    upstreams: { api: { servers: ['http://127.0.0.1:9'] } },
    routes: [{ to: 'api', cache: true }],
  }, { upstreams: { api } })
  t.after(() => proxy.close())

  const viaTls = { clientIp: '10.0.0.5', headers: { 'x-forwarded-proto': 'https' } }
  assert.equal((await proxy.request('/page', viaTls)).text(), 'v1')
  assert.equal((await proxy.request('/page', { clientIp: '10.0.0.5' })).text(), 'v2', 'plain http is another resource')
  assert.equal((await proxy.request('/page', viaTls)).text(), 'v1')
  assert.equal((await proxy.request('/page', { clientIp: '10.0.0.5' })).text(), 'v2')
  assert.equal(n, 2)
})

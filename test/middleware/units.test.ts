// Unit tests of the built-in middleware that need no running proxy: parsing, negotiation, math.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fakeContext } from './fake-context.js'
import { parseIp, parseCidr, IpList, formatIp, resolveClientAddress, compileTrust, ipFilter } from '../../src/middleware/ip-filter.js'
import { negotiateEncoding, compressible } from '../../src/middleware/compression.js'
import { tokenBucket, slidingWindow, MemoryRateLimitStore, rateLimit, type RateLimitPolicy } from '../../src/middleware/rate-limit.js'
import { parseRange, safeSegments, notModified, fileEtag, contentTypeFor } from '../../src/middleware/serve-static.js'
import { hashPassword, verifyPassword, parseBasic, basicAuth } from '../../src/middleware/basic-auth.js'
import { rewritePathname, rewrite } from '../../src/middleware/rewrite.js'
import { httpsRedirect, redirect } from '../../src/middleware/redirect.js'
import { cors } from '../../src/middleware/cors.js'
import { pickWeighted, hashPoint, trafficSplit } from '../../src/middleware/traffic-split.js'
import { isValidRequestId, requestId } from '../../src/middleware/request-id.js'
import { boundedTee } from '../../src/middleware/mirror.js'
import { bodyLimit } from '../../src/middleware/body-limit.js'
import { headers as headersMw } from '../../src/middleware/headers.js'
import { respond } from '../../src/middleware/respond.js'
import { timeout } from '../../src/middleware/timeout.js'

test('parseIp: v4, v6, compressed, embedded v4, zone ids; rejects junk', () => {
  assert.equal(formatIp(parseIp('10.1.2.3')!), '10.1.2.3')
  assert.equal(formatIp(parseIp('::ffff:10.1.2.3')!), '10.1.2.3')
  assert.equal(formatIp(parseIp('::ffff:a01:203')!), '10.1.2.3')
  assert.equal(formatIp(parseIp('2001:db8::1')!), '2001:db8::1')
  assert.equal(formatIp(parseIp('[2001:DB8:0:0:0:0:0:1]')!), '2001:db8::1')
  assert.equal(formatIp(parseIp('fe80::1%eth0')!), 'fe80::1')
  assert.equal(formatIp(parseIp('::')!), '::')
  assert.equal(formatIp(parseIp('::1')!), '::1')
  assert.equal(formatIp(parseIp('1:0:0:2:0:0:0:3')!), '1:0:0:2::3')
  for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', 'localhost', '1.2.3.4.5', '::1.2.3']) {
    assert.equal(parseIp(bad), undefined, bad)
  }
})

test('CIDR lists: v4, v6, single addresses, names; IPv4 matches IPv4-mapped IPv6', () => {
  const list = new IpList(['10.0.0.0/8', '192.168.1.17', '2001:db8::/32', 'loopback'])
  assert.ok(list.matches('10.255.0.1'))
  assert.ok(list.matches('::ffff:10.9.9.9'))
  assert.ok(list.matches('192.168.1.17'))
  assert.ok(!list.matches('192.168.1.18'))
  assert.ok(list.matches('2001:db8:ffff::1'))
  assert.ok(!list.matches('2001:db9::1'))
  assert.ok(list.matches('127.0.0.53'))
  assert.ok(list.matches('::1'))
  assert.ok(!list.matches('11.0.0.1'))
  assert.ok(!list.matches('garbage'))
  // Host bits are masked; odd prefix lengths.
  assert.ok(new IpList(['10.1.2.3/8']).matches('10.200.0.0'))
  const odd = new IpList(['172.16.0.0/12'])
  assert.ok(odd.matches('172.31.255.255'))
  assert.ok(!odd.matches('172.32.0.0'))
  // A mapped-v6 CIDR matches plain v4 too.
  assert.ok(new IpList(['::ffff:10.0.0.0/104']).matches('10.1.1.1'))
  assert.ok(new IpList(['0.0.0.0/0']).matches('8.8.8.8'))
  assert.ok(!new IpList(['0.0.0.0/0']).matches('2001:db8::1'))
  assert.throws(() => parseCidr('10.0.0.0/33'), /prefix length/)
  assert.throws(() => parseCidr('nope'), /not an IP/)
  assert.throws(() => parseCidr('::/129'), /prefix length/)
})

test('client address: X-Forwarded-For walked from the right past trusted proxies', () => {
  const trustLocal = compileTrust(['10.0.0.0/8', 'loopback'])
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9, 10.0.0.2', trustLocal), '203.0.113.9')
  // A client-supplied spoof to the left of the real client is ignored.
  assert.equal(resolveClientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.0.0.2', trustLocal), '203.0.113.9')
  // Untrusted peer: its XFF is not believed.
  assert.equal(resolveClientAddress('198.51.100.1', '6.6.6.6', trustLocal), '198.51.100.1')
  // Everything trusted: the leftmost address.
  assert.equal(resolveClientAddress('127.0.0.1', '10.0.0.7, 10.0.0.2', trustLocal), '10.0.0.7')
  // Ports and brackets; v6; mapped peer.
  assert.equal(resolveClientAddress('::ffff:127.0.0.1', '[2001:db8::5]:443', trustLocal), '2001:db8::5')
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9:5555', trustLocal), '203.0.113.9')
  // A hop that is not an address stops the walk and is the client as written (never the
  // trusted proxy's own address); an empty one reads 'unknown'.
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9, unknown', trustLocal), 'unknown')
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9,  junk ', trustLocal), 'junk')
  assert.equal(resolveClientAddress('127.0.0.1', '203.0.113.9,', trustLocal), 'unknown')
  assert.equal(resolveClientAddress('127.0.0.1', 'junk, 203.0.113.9', trustLocal), '203.0.113.9', 'junk left of the client is never reached')
  // Hop count: trust exactly n hops.
  const two = compileTrust(2)
  assert.equal(resolveClientAddress('9.9.9.9', '1.1.1.1, 2.2.2.2, 3.3.3.3', two), '2.2.2.2')
  assert.equal(resolveClientAddress('9.9.9.9', '1.1.1.1, 2.2.2.2, 3.3.3.3', compileTrust(0)), '9.9.9.9')
  assert.equal(resolveClientAddress('9.9.9.9', '', compileTrust(5)), '9.9.9.9')
  assert.equal(resolveClientAddress('9.9.9.9', null, compileTrust(undefined)), '9.9.9.9')
})

test('ipFilter: deny wins over allow; no allow list = allow all not denied', async () => {
  const f = ipFilter({ allow: ['10.0.0.0/8'], deny: ['10.0.66.0/24'] })
  assert.equal(await f.onRequest!(fakeContext({ clientIp: '10.1.1.1' })), undefined)
  assert.equal((await f.onRequest!(fakeContext({ clientIp: '10.0.66.5' })))!.status, 403)
  assert.equal((await f.onRequest!(fakeContext({ clientIp: '11.0.0.1' })))!.status, 403)
  const d = ipFilter({ deny: ['2001:db8::/32'] })
  assert.equal(await d.onRequest!(fakeContext({ clientIp: '11.0.0.1' })), undefined)
  assert.equal((await d.onRequest!(fakeContext({ clientIp: '2001:db8::1' })))!.status, 403)
  assert.throws(() => ipFilter({ allow: ['10.0.0.0/40'] }), /prefix length/)
})

test('negotiateEncoding: q-values, q=0 excludes, *, identity, server preference on ties', () => {
  const both = ['br', 'gzip'] as const
  assert.equal(negotiateEncoding(null, both), undefined)
  assert.equal(negotiateEncoding('', both), undefined)
  assert.equal(negotiateEncoding('gzip, deflate, br', both), 'br')
  assert.equal(negotiateEncoding('gzip', both), 'gzip')
  assert.equal(negotiateEncoding('br;q=0, gzip', both), 'gzip')
  assert.equal(negotiateEncoding('br;q=0.5, gzip;q=0.8', both), 'gzip')
  assert.equal(negotiateEncoding('gzip;q=0, br;q=0', both), undefined)
  assert.equal(negotiateEncoding('*', both), 'br')
  assert.equal(negotiateEncoding('*;q=0.1, br;q=0', both), 'gzip')
  assert.equal(negotiateEncoding('*;q=0', both), undefined)
  assert.equal(negotiateEncoding('identity', both), undefined)
  assert.equal(negotiateEncoding('identity;q=1, gzip;q=0.5', both), 'gzip')
  assert.equal(negotiateEncoding('x-gzip', both), 'gzip')
  assert.equal(negotiateEncoding('GZIP ; Q=1', both), 'gzip')
  assert.equal(negotiateEncoding('br, gzip', ['gzip', 'br']), 'gzip')
  assert.equal(negotiateEncoding('deflate', both), undefined)
  assert.ok(compressible('text/html; charset=utf-8'))
  assert.ok(compressible('image/svg+xml'))
  assert.ok(compressible('application/json'))
  assert.ok(!compressible('image/png'))
  assert.ok(!compressible('video/mp4'))
  assert.ok(!compressible('application/zip'))
  assert.ok(!compressible('text/event-stream'))
})

test('token bucket: burst of limit, then refill at limit/window (injected times)', () => {
  const p: RateLimitPolicy = { algorithm: 'token-bucket', limit: 3, windowMs: 3000 }
  let s = tokenBucket(undefined, p, 0)
  assert.deepEqual(s.decision, { allowed: true, limit: 3, remaining: 2, resetMs: 1000, retryAfterMs: 0 })
  s = tokenBucket(s.state, p, 0)
  s = tokenBucket(s.state, p, 0)
  assert.equal(s.decision.remaining, 0)
  assert.equal(s.decision.resetMs, 3000)
  const denied = tokenBucket(s.state, p, 400)
  assert.equal(denied.decision.allowed, false)
  assert.equal(denied.decision.retryAfterMs, 600) // 0.4 token back, one needs 0.6 more
  const later = tokenBucket(denied.state, p, 1000)
  assert.equal(later.decision.allowed, true)
  assert.equal(later.decision.remaining, 0)
  // Never more than the limit, however long idle.
  const idle = tokenBucket(later.state, p, 1_000_000)
  assert.equal(idle.decision.remaining, 2)
})

test('sliding window: previous window weighted by overlap; Retry-After when the estimate allows one more', () => {
  const p: RateLimitPolicy = { algorithm: 'sliding-window', limit: 4, windowMs: 1000 }
  let r = slidingWindow(undefined, p, 10_000)
  for (let i = 0; i < 3; i++) r = slidingWindow(r.state, p, 10_000 + i)
  assert.equal(r.state.current, 4)
  assert.equal(r.decision.remaining, 0)
  assert.equal(r.decision.resetMs, 998)
  const d = slidingWindow(r.state, p, 10_500)
  assert.equal(d.decision.allowed, false)
  // Next window: estimate = 4 * (1 - f) + 0 ≤ 3 ⇒ f ≥ 0.25 ⇒ at 11_250, 750 ms from 10_500.
  assert.equal(d.decision.retryAfterMs, 750)
  assert.equal(slidingWindow(d.state, p, 11_249).decision.allowed, false)
  const ok = slidingWindow(d.state, p, 11_250)
  assert.equal(ok.decision.allowed, true)
  // Two windows later everything is forgotten.
  assert.equal(slidingWindow(ok.state, p, 13_000).decision.remaining, 3)
})

test('memory store: evicts idle keys and stays within maxKeys', () => {
  const store = new MemoryRateLimitStore({ maxKeys: 50 })
  const p: RateLimitPolicy = { algorithm: 'token-bucket', limit: 2, windowMs: 1000 }
  for (let i = 0; i < 40; i++) store.consume(`k${i}`, p, 0)
  assert.equal(store.size, 40)
  store.consume('late', p, 10_000) // everything else is idle (bucket full again) by now
  assert.equal(store.size, 1)
  for (let i = 0; i < 200; i++) store.consume(`m${i}`, p, 20_000)
  assert.equal(store.size, 50)
})

test('rateLimit: 429 with Retry-After, RateLimit-* headers on responses, reset after the window (injected clock)', async () => {
  let now = 1_000_000
  const rl = rateLimit({ limit: 2, window: '10s', now: () => now })
  const run = async (ip: string) => {
    const ctx = fakeContext({ clientIp: ip })
    const early = await rl.onRequest!(ctx)
    const res = (await rl.onResponse!(ctx, early ?? new Response('ok'))) ?? early ?? new Response('ok')
    return res
  }
  const a = await run('1.1.1.1')
  assert.equal(a.status, 200)
  assert.equal(a.headers.get('ratelimit-limit'), '2')
  assert.equal(a.headers.get('ratelimit-remaining'), '1')
  assert.equal(a.headers.get('ratelimit-policy'), '2;w=10')
  assert.equal((await run('1.1.1.1')).headers.get('ratelimit-remaining'), '0')
  const limited = await run('1.1.1.1')
  assert.equal(limited.status, 429)
  assert.equal(limited.headers.get('retry-after'), '5')
  assert.equal(limited.headers.get('ratelimit-remaining'), '0')
  assert.equal((await run('2.2.2.2')).status, 200) // other keys unaffected
  now += 10_000
  const again = await run('1.1.1.1')
  assert.equal(again.status, 200)
  assert.equal(again.headers.get('ratelimit-remaining'), '1')
  // header keys: requests without the header are not limited
  const byHeader = rateLimit({ limit: 1, key: 'header:x-api-key', now: () => now })
  assert.equal(await byHeader.onRequest!(fakeContext({ headers: { 'x-api-key': 'k' } })), undefined)
  assert.equal((await byHeader.onRequest!(fakeContext({ headers: { 'x-api-key': 'k' } })))!.status, 429)
  assert.equal(await byHeader.onRequest!(fakeContext()), undefined)
  assert.throws(() => rateLimit({ limit: 0 }), /limit/)
  assert.throws(() => rateLimit({ limit: 1, key: 'cookie:x' as 'ip' }), /key/)
})

test('rateLimit: a failing store lets requests through with one warning per outage', async () => {
  const logs: string[] = []
  let fail = true
  const rl = rateLimit({
    limit: 1,
    store: { consume: () => { if (fail) throw new Error('connection refused'); return { allowed: true, limit: 1, remaining: 0, resetMs: 1, retryAfterMs: 0 } } },
    log: (level, m) => void logs.push(`${level}: ${m}`),
  })
  for (let i = 0; i < 3; i++) assert.equal(await rl.onRequest!(fakeContext()), undefined)
  assert.equal(logs.length, 1)
  assert.match(logs[0]!, /^warn: rateLimit: store failed.*connection refused/)
  fail = false
  await rl.onRequest!(fakeContext())
  assert.match(logs[1]!, /answering again/)
})

test('serveStatic helpers: ranges, unsafe segments, conditionals, types', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 })
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 })
  assert.deepEqual(parseRange('bytes=-1000', 100), { start: 0, end: 99 })
  assert.deepEqual(parseRange('bytes=50-1000', 100), { start: 50, end: 99 })
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable')
  assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable')
  assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable')
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined) // several ranges: whole file
  assert.equal(parseRange('bytes=5-1', 100), undefined)
  assert.equal(parseRange('items=0-1', 100), undefined)
  assert.equal(parseRange('bytes=abc', 100), undefined)
  assert.equal(parseRange(null, 100), undefined)
  assert.deepEqual(safeSegments('/a/b%20c/d.txt'), ['a', 'b c', 'd.txt'])
  for (const bad of ['/a/..', '/%2e%2e/x', '/..%2fetc', '/a%2Fb', '/a%5cb', '/a%00b', '/%E0%A4%A', '/.']) {
    assert.equal(safeSegments(bad), undefined, bad)
  }
  const etag = fileEtag(100, 1_700_000_000_123)
  assert.equal(etag, `"64-${Math.floor(1_700_000_000_123).toString(16)}"`)
  assert.ok(notModified(new Headers({ 'if-none-match': `W/${etag}` }), etag, 0))
  assert.ok(notModified(new Headers({ 'if-none-match': `"x", ${etag}` }), etag, 0))
  assert.ok(notModified(new Headers({ 'if-none-match': '*' }), etag, 0))
  assert.ok(!notModified(new Headers({ 'if-none-match': '"x"', 'if-modified-since': new Date(2e12).toUTCString() }), etag, 1e12))
  assert.ok(notModified(new Headers({ 'if-modified-since': new Date(1_700_000_000_000).toUTCString() }), etag, 1_700_000_000_900))
  assert.ok(!notModified(new Headers({ 'if-modified-since': new Date(1_700_000_000_000).toUTCString() }), etag, 1_700_000_001_000))
  assert.ok(!notModified(new Headers({ 'if-modified-since': 'yesterday' }), etag, 0))
  assert.equal(contentTypeFor('/x/app.JS'), 'text/javascript; charset=utf-8')
  assert.equal(contentTypeFor('/x/file.unknown'), 'application/octet-stream')
  assert.equal(contentTypeFor('/m.webmanifest', { '.webmanifest': 'x/y' }), 'x/y')
})

test('basicAuth: plain and scrypt-hashed passwords, function check, 401 challenge', async () => {
  const hash = await hashPassword('correct horse', { N: 1024 })
  assert.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
  assert.ok(await verifyPassword('correct horse', hash))
  assert.ok(!(await verifyPassword('correct horsE', hash)))
  assert.deepEqual(parseBasic(`Basic ${Buffer.from('ädä:pa:ss').toString('base64')}`), { user: 'ädä', password: 'pa:ss' })
  assert.equal(parseBasic('Bearer xyz'), undefined)
  assert.equal(parseBasic(`Basic ${Buffer.from('nocolon').toString('base64')}`), undefined)
  const auth = basicAuth({ users: { ada: 'plain-pw', bob: { hash } }, realm: 'ops "zone"' })
  const basic = (u: string, p: string) => fakeContext({ headers: { authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` } })
  const none = (await auth.onRequest!(fakeContext()))!
  assert.equal(none.status, 401)
  assert.equal(none.headers.get('www-authenticate'), 'Basic realm="ops zone", charset="UTF-8"')
  const okCtx = basic('ada', 'plain-pw')
  assert.equal(await auth.onRequest!(okCtx), undefined)
  assert.equal(okCtx.state.user, 'ada')
  assert.equal((await auth.onRequest!(basic('ada', 'plain-pw2')))!.status, 401)
  assert.equal((await auth.onRequest!(basic('ada', '')))!.status, 401)
  assert.equal((await auth.onRequest!(basic('nobody', 'plain-pw')))!.status, 401)
  assert.equal(await auth.onRequest!(basic('bob', 'correct horse')), undefined)
  assert.equal(await auth.onRequest!(basic('bob', 'correct horse')), undefined) // remembered
  assert.equal((await auth.onRequest!(basic('bob', 'plain-pw')))!.status, 401)
  const fn = basicAuth({ users: async (u, p) => u === 'x' && p === 'y' })
  assert.equal(await fn.onRequest!(basic('x', 'y')), undefined)
  assert.equal((await fn.onRequest!(basic('x', 'z')))!.status, 401)
  assert.throws(() => basicAuth({ users: { a: { hash: 'md5$abc' } } }), /not a hash/)
})

test('rewrite: stripPrefix on segment boundaries, then replace; through ctx.rewrite', async () => {
  assert.equal(rewritePathname('/api/users', { stripPrefix: '/api' }), '/users')
  assert.equal(rewritePathname('/api', { stripPrefix: '/api/' }), '/')
  assert.equal(rewritePathname('/apix/users', { stripPrefix: '/api' }), '/apix/users')
  assert.equal(rewritePathname('/old/a/b', { replace: [/^\/old\/(.*)$/, '/v2/$1'] }), '/v2/a/b')
  assert.equal(rewritePathname('/v1/x', { stripPrefix: '/v1', replace: [/^\/x/, 'y'] }), '/y')
  const ctx = fakeContext({ url: 'http://h.test/api/users?page=2' })
  await rewrite({ stripPrefix: '/api' }).onRequest!(ctx)
  assert.deepEqual(ctx.rewrites, ['/users'])
  const same = fakeContext({ url: 'http://h.test/other' })
  await rewrite({ stripPrefix: '/api' }).onRequest!(same)
  assert.deepEqual(same.rewrites, [])
  assert.throws(() => rewrite({ stripPrefix: 'api' }), /must start with/)
})

test('redirect and httpsRedirect', async () => {
  const r = (await redirect({ to: '/new/:splat', status: 301 }).onRequest!(fakeContext({ url: 'http://h.test/old/a/b?x=1', params: { splat: 'a/b' } })))!
  assert.equal(r.status, 301)
  assert.equal(r.headers.get('location'), '/new/a/b?x=1')
  const noQ = (await redirect({ to: 'https://e.test/', preserveQuery: false }).onRequest!(fakeContext({ url: 'http://h.test/?x=1' })))!
  assert.deepEqual([noQ.status, noQ.headers.get('location')], [302, 'https://e.test/'])
  assert.throws(() => redirect({ to: '/x', status: 200 }), /status/)

  const h = httpsRedirect({ trustProxy: ['10.0.0.0/8'] })
  const get = (await h.onRequest!(fakeContext({ url: 'http://shop.test:8080/a/b?q=1&r=2' })))!
  assert.deepEqual([get.status, get.headers.get('location')], [301, 'https://shop.test/a/b?q=1&r=2'])
  const post = (await h.onRequest!(fakeContext({ method: 'POST', url: 'http://shop.test/form' })))!
  assert.equal(post.status, 308)
  const head = (await h.onRequest!(fakeContext({ method: 'HEAD', url: 'http://shop.test/' })))!
  assert.equal(head.status, 301)
  const v6 = (await h.onRequest!(fakeContext({ url: 'http://[2001:db8::1]:8080/x' })))!
  assert.equal(v6.headers.get('location'), 'https://[2001:db8::1]/x')
  // X-Forwarded-Proto only from a trusted peer; the nearest (rightmost) value counts.
  assert.equal(await h.onRequest!(fakeContext({ clientIp: '10.1.1.1', headers: { 'x-forwarded-proto': 'https' } })), undefined)
  assert.equal((await h.onRequest!(fakeContext({ clientIp: '10.1.1.1', headers: { 'x-forwarded-proto': 'https, http' } })))!.status, 301)
  assert.equal((await h.onRequest!(fakeContext({ clientIp: '8.8.8.8', headers: { 'x-forwarded-proto': 'https' } })))!.status, 301)
  assert.equal((await httpsRedirect().onRequest!(fakeContext({ headers: { 'x-forwarded-proto': 'https' } })))!.status, 301)
  const port = (await httpsRedirect({ port: 8443 }).onRequest!(fakeContext({ url: 'http://h.test/' })))!
  assert.equal(port.headers.get('location'), 'https://h.test:8443/')
})

test('cors: preflight answers, actual responses, credentials never with *', async () => {
  const c = cors({ origin: ['https://app.test', /\.dev\.test$/], credentials: true, exposedHeaders: ['x-request-id'], maxAge: '10m', allowedHeaders: ['content-type', 'x-token'] })
  const pre = fakeContext({ method: 'OPTIONS', headers: { origin: 'https://app.test', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token' } })
  const answer = (await c.onRequest!(pre))!
  assert.equal(answer.status, 204)
  assert.equal(answer.headers.get('access-control-allow-origin'), 'https://app.test')
  assert.equal(answer.headers.get('access-control-allow-credentials'), 'true')
  assert.equal(answer.headers.get('access-control-allow-methods'), 'GET, HEAD, PUT, PATCH, POST, DELETE')
  assert.equal(answer.headers.get('access-control-allow-headers'), 'content-type, x-token')
  assert.equal(answer.headers.get('access-control-max-age'), '600')
  assert.equal(answer.headers.get('vary'), 'Origin')
  assert.equal(await c.onResponse!(pre, answer), undefined)
  // Disallowed origin: answered, without CORS headers.
  const bad = (await c.onRequest!(fakeContext({ method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' } })))!
  assert.equal(bad.status, 204)
  assert.equal(bad.headers.get('access-control-allow-origin'), null)
  // Plain OPTIONS (no request-method) is not a preflight.
  assert.equal(await c.onRequest!(fakeContext({ method: 'OPTIONS', headers: { origin: 'https://app.test' } })), undefined)
  const actual = fakeContext({ headers: { origin: 'https://x.dev.test' } })
  const res = (await c.onResponse!(actual, new Response('hi', { headers: { vary: 'Accept-Encoding' } })))!
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://x.dev.test')
  assert.equal(res.headers.get('access-control-expose-headers'), 'x-request-id')
  assert.equal(res.headers.get('vary'), 'Accept-Encoding, Origin')
  const denied = (await c.onResponse!(fakeContext({ headers: { origin: 'https://evil.test' } }), new Response('hi', { headers: { 'access-control-allow-origin': '*' } })))!
  assert.equal(denied.headers.get('access-control-allow-origin'), null)
  assert.equal(await c.onResponse!(fakeContext(), new Response('no origin')), undefined)
  // '*' without credentials is literal; with credentials the origin is echoed.
  const star = (await cors().onResponse!(fakeContext({ headers: { origin: 'https://a.test' } }), new Response('x')))!
  assert.equal(star.headers.get('access-control-allow-origin'), '*')
  assert.equal(star.headers.get('vary'), null)
  const starCreds = (await cors({ credentials: true }).onResponse!(fakeContext({ headers: { origin: 'https://a.test' } }), new Response('x')))!
  assert.equal(starCreds.headers.get('access-control-allow-origin'), 'https://a.test')
  assert.equal(starCreds.headers.get('vary'), 'Origin')
  // Reflected request headers when allowedHeaders is not set.
  const refl = (await cors({ origin: (o) => o.endsWith('.test') }).onRequest!(fakeContext({ method: 'OPTIONS', headers: { origin: 'https://b.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-a, x-b' } })))!
  assert.equal(refl.headers.get('access-control-allow-headers'), 'x-a, x-b')
  assert.equal(refl.headers.get('vary'), 'Origin, Access-Control-Request-Headers')
})

test('trafficSplit: weighted picks, header hashing is stable, cookie stickiness', async () => {
  const entries = [['stable', 90], ['canary', 10]] as const
  assert.equal(pickWeighted(entries, 100, 0), 'stable')
  assert.equal(pickWeighted(entries, 100, 0.8999), 'stable')
  assert.equal(pickWeighted(entries, 100, 0.9), 'canary')
  assert.equal(pickWeighted(entries, 100, 0.99999), 'canary')
  assert.equal(hashPoint('user-1'), hashPoint('user-1'))
  // Distribution with a deterministic random source.
  let i = 0
  const split = trafficSplit({ groups: { stable: 90, canary: 10 }, random: () => (i++ % 1000) / 1000 })
  const counts: Record<string, number> = { stable: 0, canary: 0 }
  for (let n = 0; n < 1000; n++) counts[(await split.selectUpstream!(fakeContext())) as string]!++
  assert.deepEqual(counts, { stable: 900, canary: 100 })
  // Header hashing: a spread of users lands close to the weights, each always in the same group.
  const byHeader = trafficSplit({ groups: { a: 50, b: 50 }, sticky: { header: 'x-user' } })
  const seen: Record<string, number> = { a: 0, b: 0 }
  for (let n = 0; n < 2000; n++) {
    const g = (await byHeader.selectUpstream!(fakeContext({ headers: { 'x-user': `u${n}` } }))) as string
    seen[g]!++
    if (n % 100 === 0) assert.equal(await byHeader.selectUpstream!(fakeContext({ headers: { 'x-user': `u${n}` } })), g)
  }
  assert.ok(seen.a! > 850 && seen.b! > 850, JSON.stringify(seen))
  // Cookies: kept when valid, reassigned (and set) when missing or pointing at a weight-0 group.
  const sticky = trafficSplit({ groups: { stable: 1, canary: 0, beta: 1 }, sticky: { cookie: 'sy' }, random: () => 0.99 })
  const kept = fakeContext({ headers: { cookie: 'a=1; sy=stable' } })
  assert.equal(await sticky.selectUpstream!(kept), 'stable')
  assert.equal(await sticky.onResponse!(kept, new Response('x')), undefined)
  const drained = fakeContext({ headers: { cookie: 'sy=canary' } })
  assert.equal(await sticky.selectUpstream!(drained), 'beta')
  const set = (await sticky.onResponse!(drained, new Response('x')))!
  assert.match(set.headers.get('set-cookie')!, /^sy=beta; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax$/)
  assert.throws(() => trafficSplit({ groups: { a: 0 } }), /weight > 0/)
})

test('requestId: pass-through of valid ids, generation otherwise, on request, upstream and response', async () => {
  assert.ok(isValidRequestId('abc-123_x.y:z'))
  for (const bad of ['', 'has space', 'a,b', 'quote"', 'x'.repeat(201), 'line\nbreak', 'ü']) assert.ok(!isValidRequestId(bad), bad)
  const logged: string[] = []
  const mw = requestId({ generate: () => 'gen-1', log: (id) => void logged.push(id) })
  const incoming = fakeContext({ headers: { 'x-request-id': 'client-7' } })
  await mw.onRequest!(incoming)
  assert.equal(incoming.state.requestId, 'client-7')
  const fresh = fakeContext({ headers: { 'x-request-id': 'bad id' } })
  await mw.onRequest!(fresh)
  assert.equal(fresh.state.requestId, 'gen-1')
  assert.equal(fresh.headers.get('x-request-id'), 'gen-1')
  const up = { method: 'GET', path: '/', headers: new Headers() }
  await mw.onUpstreamRequest!(fresh, up)
  assert.equal(up.headers.get('x-request-id'), 'gen-1')
  const res = (await mw.onResponse!(fresh, new Response('x')))!
  assert.equal(res.headers.get('x-request-id'), 'gen-1')
  mw.onLog!(fresh, { method: 'GET', target: '/', status: 200, route: 'r', upstream: undefined, durationMs: 1, bytes: 1, clientIp: '1.1.1.1', error: undefined })
  assert.deepEqual(logged, ['gen-1'])
  const uuid = fakeContext()
  await requestId({ trustIncoming: false }).onRequest!(uuid)
  assert.match(uuid.state.requestId as string, /^[0-9a-f-]{36}$/)
})

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  return Buffer.from(await new Response(stream).arrayBuffer()).toString()
}

function chunks(parts: string[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < parts.length) c.enqueue(new TextEncoder().encode(parts[i++]!))
      else c.close()
    },
  })
}

test('boundedTee: the copy gets everything while it keeps up, is dropped when it lags, never stalls main', async () => {
  const t1 = boundedTee(chunks(['ab', 'cd', 'ef']), 1024, () => assert.fail('dropped'))
  const [m1, c1] = await Promise.all([readAll(t1.main), readAll(t1.copy)])
  assert.deepEqual([m1, c1], ['abcdef', 'abcdef'])
  // Nobody reads the copy: main still completes; the copy is dropped past maxLag.
  let dropped = 0
  const big = Array.from({ length: 20 }, () => 'x'.repeat(100))
  const t2 = boundedTee(chunks(big), 500, () => void dropped++)
  assert.equal((await readAll(t2.main)).length, 2000)
  assert.equal(dropped, 1)
  await assert.rejects(readAll(t2.copy), /fell more than 500 bytes behind/)
  // Cancelling the copy does not affect main.
  const t3 = boundedTee(chunks(['1', '2', '3']), 1024, () => {})
  await t3.copy.cancel()
  assert.equal(await readAll(t3.main), '123')
})

test('bodyLimit on Content-Length', async () => {
  const bl = bodyLimit({ max: '1kb' })
  assert.equal((await bl.onRequest!(fakeContext({ method: 'POST', headers: { 'content-length': '1025' } })))!.status, 413)
  assert.equal(await bl.onRequest!(fakeContext({ method: 'POST', headers: { 'content-length': '1024' } })), undefined)
})

test('headers, respond, timeout', async () => {
  const h = headersMw({ request: { set: { 'x-a': '1' }, add: { 'x-b': ['2', '3'] }, remove: ['x-c'] }, response: { set: { 'x-r': 'y' }, remove: ['server'] } })
  const req = { method: 'GET', path: '/', headers: new Headers({ 'x-c': 'gone', 'x-b': '1' }) }
  await h.onUpstreamRequest!(fakeContext(), req)
  assert.deepEqual([...req.headers], [['x-a', '1'], ['x-b', '1, 2, 3']])
  const res = (await h.onResponse!(fakeContext(), new Response('x', { status: 201, headers: { server: 'nginx', 'set-cookie': 'a=1' } })))!
  assert.equal(res.status, 201)
  assert.equal(res.headers.get('server'), null)
  assert.equal(res.headers.get('x-r'), 'y')
  assert.deepEqual(res.headers.getSetCookie(), ['a=1'])
  assert.throws(() => headersMw({ response: { set: { 'bad name': 'x' } } }), /response/)
  const r = respond({ status: 503, body: { down: true }, headers: { 'retry-after': '60' } })
  const a = (await r.onRequest!(fakeContext()))!
  const b = (await r.onRequest!(fakeContext()))!
  assert.equal(a.status, 503)
  assert.equal(a.headers.get('content-type'), 'application/json')
  assert.equal(await a.text(), '{"down":true}')
  assert.equal(await b.text(), '{"down":true}') // a fresh body each time
  const ctx = fakeContext()
  await timeout({ total: '2s' }).onRequest!(ctx)
  assert.deepEqual(ctx.deadlines, [2000])
  assert.throws(() => timeout({ total: 'soon' }), /total/)
})

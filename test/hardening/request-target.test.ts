/**
 * What reaches the upstream: the exact request line and Host for hostile targets, absolute-form
 * consistency, and Connection-nomination tricks against the proxy's own headers.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient, rawBackend, proxyFor, type RawBackend } from './helpers.js'
import type { TestProxy } from '../helpers/servers.js'

const T = { timeout: 10_000 }

async function send(proxy: TestProxy, bytes: string): Promise<number> {
  const c = await RawClient.open(proxy.port)
  c.write(bytes)
  const res = await c.response()
  c.destroy()
  return res.status
}

/** The request line the upstream got for `target` (undefined if the proxy refused it). */
async function upstreamLine(proxy: TestProxy, backend: RawBackend, target: string): Promise<{ status: number; line?: string }> {
  const before = backend.requests.length
  const status = await send(proxy, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`)
  return { status, line: backend.requests.length > before ? backend.requests.at(-1)!.line : undefined }
}

test('encoded CR/LF/NUL never become real bytes upstream; the request line cannot be split', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend)
  assert.deepEqual(await upstreamLine(proxy, backend, '/a%0d%0aX-Inj:%20yes'), { status: 200, line: 'GET /a%0D%0AX-Inj:%20yes HTTP/1.1' })
  assert.deepEqual(await upstreamLine(proxy, backend, '/a?x=%0d%0aX-Inj:%20yes'), { status: 200, line: 'GET /a?x=%0d%0aX-Inj:%20yes HTTP/1.1' })
  assert.deepEqual(await upstreamLine(proxy, backend, '/a%20HTTP/1.1%0d%0aHost:%20evil'), { status: 200, line: 'GET /a%20HTTP/1.1%0D%0AHost:%20evil HTTP/1.1' })
  // %00 is refused, as nginx does (a C backend would cut the path there).
  assert.deepEqual(await upstreamLine(proxy, backend, '/a%00.php'), { status: 400, line: undefined })
  assert.doesNotMatch(backend.received, /\r\nX-Inj|\r\nHost: evil|\x00/)
  for (const r of backend.requests) assert.equal(r.all('host').length, 1)
})

test('traversal tricks are resolved or refused before routing', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { routes: [{ match: { path: '/admin/*' }, respond: { status: 403, body: 'no' } }] })
  const cases: Array<[string, number, string | undefined]> = [
    ['/public/%2e%2e/admin/x', 403, undefined], // decoded dots are dots: the admin rule applies
    ['/public/.%2E/admin/x', 403, undefined],
    ['/public/%2e%2e%2fadmin/x', 400, undefined], // ..%2F: a decoding backend would climb
    ['/public/..%2Fadmin/x', 400, undefined],
    ['/public/..%5Cadmin/x', 400, undefined],
    ['/public/..;/admin/x', 400, undefined], // Tomcat reads ..; as ..
    ['/public/.;/admin/x', 400, undefined],
    ['/public\\..\\admin/x', 400, undefined], // raw backslash
    ['//admin/x', 403, undefined],
    ['/%61dmin/x', 403, undefined],
    ['/%c0%ae%c0%ae/admin/x', 200, 'GET /%C0%AE%C0%AE/admin/x HTTP/1.1'], // overlong UTF-8 is not a dot
    ['/files/a%2Fb', 200, 'GET /files/a%2Fb HTTP/1.1'], // an encoded slash that is not traversal is kept
    ['/x#frag', 400, undefined],
    ['/caf%C3%A9?q=%E2%82%AC', 200, 'GET /caf%C3%A9?q=%E2%82%AC HTTP/1.1'],
  ]
  for (const [target, status, line] of cases) {
    assert.deepEqual(await upstreamLine(proxy, backend, target), { status, line }, target)
  }
  // Raw non-ASCII bytes in the target are refused by the parser.
  const c = await RawClient.open(proxy.port)
  c.write('GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 400)
  await c.closed
  // A long query passes unchanged.
  const q = 'k=' + 'v'.repeat(7000)
  assert.deepEqual(await upstreamLine(proxy, backend, `/q?${q}`), { status: 200, line: `GET /q?${q} HTTP/1.1` })
})

test('absolute-form: its authority wins for routing, upstream Host and X-Forwarded-Host alike', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { routes: [{ match: { host: 'admin.example' }, respond: { body: 'ADMIN' } }] })
  let c = await RawClient.open(proxy.port)
  c.write('GET http://admin.example/x HTTP/1.1\r\nHost: public.example\r\n\r\n')
  assert.equal((await c.response()).body.toString(), 'ADMIN')
  c.write('GET http://public.example/x HTTP/1.1\r\nHost: admin.example\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  c.destroy()
  const seen = backend.requests.at(-1)!
  assert.equal(seen.line, 'GET /x HTTP/1.1')
  assert.deepEqual(seen.all('host'), ['public.example'])
  assert.deepEqual(seen.all('x-forwarded-host'), ['public.example'])
  // HTTP/1.0 absolute-form without Host.
  c = await RawClient.open(proxy.port)
  c.write('GET http://public.example:8080/y?z HTTP/1.0\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  await c.closed
  assert.equal(backend.requests.at(-1)!.line, 'GET /y?z HTTP/1.1')
  assert.deepEqual(backend.requests.at(-1)!.all('host'), ['public.example:8080'])
  // Userinfo or a broken authority is refused.
  const before = backend.requests.length
  for (const target of ['http://user:pw@public.example/x', 'http://:80/x', 'http://a.example:8o/x', 'ftp://a.example/x']) {
    assert.equal(await send(proxy, `GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`), 400, target)
  }
  assert.equal(backend.requests.length, before)
})

test('Connection cannot nominate the proxy\'s own headers (400, as Envoy); other nominations are stripped', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend)
  for (const value of ['x-forwarded-for', 'close, X-Forwarded-For', 'X-Forwarded-Host', 'x-forwarded-proto', 'forwarded', 'host', 'content-length', 'keep-alive, Host']) {
    const c = await RawClient.open(proxy.port)
    c.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nConnection: ${value}\r\n\r\n`)
    assert.equal((await c.response()).status, 400, value)
    await c.closed
  }
  assert.equal(backend.requests.length, 0)
  assert.equal(await send(proxy, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\n'), 200)
  const seen = backend.requests[0]!
  assert.equal(seen.header('x-secret'), undefined)
  assert.equal(seen.header('x-kept'), 'k')
})

test('X-Forwarded-For is appended across case-variant duplicates; Proxy and X-Forwarded-Host/-Proto are not trusted', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend)
  assert.equal(await send(proxy, [
    'GET / HTTP/1.1', 'Host: shop.example', 'X-Forwarded-For: 203.0.113.1', 'x-forwarded-for: 10.0.0.1',
    'X-FORWARDED-HOST: evil.example', 'x-forwarded-proto: https', 'Proxy: http://evil.example:1', 'Proxy-Connection: keep-alive', '', '',
  ].join('\r\n')), 200)
  const seen = backend.requests[0]!
  assert.deepEqual(seen.all('x-forwarded-for'), ['203.0.113.1, 10.0.0.1, 127.0.0.1'])
  assert.deepEqual(seen.all('x-forwarded-host'), ['shop.example'])
  assert.deepEqual(seen.all('x-forwarded-proto'), ['http'])
  assert.deepEqual(seen.all('host'), ['shop.example'])
  assert.equal(seen.header('proxy'), undefined)
  assert.equal(seen.header('proxy-connection'), undefined)
})

test('underscore spellings of the fields the proxy manages (X_Forwarded_For, Content_Length…) are dropped; other names with _ pass', T, async (t) => {
  for (const fastFront of [true, false]) {
    const backend = await rawBackend()
    const proxy = await proxyFor(t, backend, {}, { server: { fastFront } })
    assert.equal(await send(proxy, [
      'GET / HTTP/1.1', 'Host: shop.example', 'X_Forwarded_For: 6.6.6.6', 'X-Forwarded_Host: evil.example', 'x_forwarded_proto: https',
      'Content_Length: 5', 'Transfer_Encoding: chunked', 'Keep_Alive: 1', 'X_Api_Key: k', 'user_agent: ua', '', '',
    ].join('\r\n')), 200)
    const seen = backend.requests[0]!
    const names = seen.headers.map(([n]) => n.toLowerCase())
    for (const dropped of ['x_forwarded_for', 'x-forwarded_host', 'x_forwarded_proto', 'content_length', 'transfer_encoding', 'keep_alive']) {
      assert.ok(!names.includes(dropped), `fastFront ${fastFront}: ${dropped} reached the upstream`)
    }
    assert.equal(seen.header('x_api_key'), 'k')
    assert.equal(seen.header('user_agent'), 'ua')
    assert.deepEqual(seen.all('x-forwarded-for'), ['127.0.0.1'])
  }
})

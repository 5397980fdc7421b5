// Upgrade requests byte by byte: what is tunnelled and what is served as a plain request.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, rawRequest } from '../helpers/servers.js'
import { until } from './ws-kit.js'
import { proxyFor, rawUpstream, bodyOf, handshake, client } from './raw-kit.js'

const T = { timeout: 20_000 }

test('any protocol is tunnelled: exact 101 head, bytes right after either head pass through; a FIN is delivered, then both sides close', T, async (t) => {
  const up = await rawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: upgrade\r\nKeep-Alive: timeout=5\r\nX-App: 1\r\n\r\nWELCOME')
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()))
  })
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(`${handshake('/x')}early `)
  await until(() => c.text().includes('WELCOME'), 'the 101 and the first bytes')
  assert.ok(c.text().startsWith('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: Upgrade\r\nX-App: 1\r\n\r\nWELCOME'), c.text())
  await until(() => up.conns[0]!.received.endsWith('\r\n\r\nearly '), 'the early bytes upstream')
  const head = up.conns[0]!.received
  assert.match(head, /^GET \/x HTTP\/1\.1\r\n/)
  assert.match(head, /\r\nconnection: upgrade\r\nupgrade: foo\/1\r\n/)
  assert.match(head, /\r\nhost: app\.test\r\n/)
  c.socket.write('more')
  await until(() => c.text().endsWith('EARLY MORE'), 'the echo')
  c.socket.end('!') // the upstream gets the byte and the end, then both connections close
  await c.ended
  await until(() => up.conns[0]!.ended, 'the end upstream')
  assert.ok(up.conns[0]!.received.endsWith('early more!'))
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  const record = proxy.log.accesses[0]!
  assert.equal(record.status, 101)
  assert.equal(record.bytesIn, 'early more!'.length)
  assert.ok(record.bytes >= 'WELCOME'.length + 'EARLY MORE'.length)
})

test('h2c is never tunnelled: the request is forwarded as plain HTTP and the connection stays usable', T, async (t) => {
  const backend = await echoBackend('plain')
  t.after(() => backend.close())
  const proxy = await proxyFor(t, { upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  const reply = await rawRequest(proxy.port,
    'GET /h2 HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n' +
    'GET /next HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n')
  const responses = reply.split('HTTP/1.1 ').slice(1)
  assert.equal(responses.length, 2)
  assert.match(responses[0]!, /^200 /)
  const first = JSON.parse(bodyOf(responses[0]!)) as { url: string; rawHeaders: string[] }
  assert.equal(first.url, '/h2')
  const names = first.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
  for (const name of ['upgrade', 'http2-settings']) assert.ok(!names.includes(name), `${name} not forwarded`)
  assert.ok(!/upgrade/i.test(first.rawHeaders.join(' ')), 'no upgrade token anywhere')
  assert.match(responses[1]!, /^200 [\s\S]*"url":"\/next"/)
})

test('an upgrade request with a body is served as a plain request, body included', T, async (t) => {
  const backend = await echoBackend('plain')
  t.after(() => backend.close())
  const proxy = await proxyFor(t, { upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  const reply = await rawRequest(proxy.port,
    'POST /form HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\nhello')
  assert.match(reply, /^HTTP\/1\.1 200 /)
  const body = JSON.parse(bodyOf(reply)) as { method: string; body: string; rawHeaders: string[] }
  assert.equal(body.method, 'POST')
  assert.equal(body.body, 'hello')
  assert.ok(!body.rawHeaders.some((h) => h.toLowerCase() === 'upgrade'))
})

test('the listener checks upgrade requests like any other (400 on a nominated X-Forwarded-For, a second Host)', T, async (t) => {
  const up = await rawUpstream(t, (socket) => socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: upgrade\r\n\r\n'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const nominated = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: app.test\r\nConnection: Upgrade, X-Forwarded-For\r\nUpgrade: foo/1\r\n\r\n')
  assert.match(nominated, /^HTTP\/1\.1 400 /)
  const twoHosts = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\n')
  assert.match(twoHosts, /^HTTP\/1\.1 400 /)
  assert.equal(up.conns.length, 0)
  assert.ok(proxy.log.lines.some((l) => l.message === 'request refused (400): Connection header nominates x-forwarded-for'))
})

test('as for a plain request: no Host in HTTP/1.1 is 400, an unknown expectation 417; 100-continue still tunnels', T, async (t) => {
  const up = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: upgrade\r\n\r\n'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const noHost = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: foo/1\r\n\r\n')
  assert.match(noHost, /^HTTP\/1\.1 400 /)
  const expectation = await rawRequest(proxy.port, handshake('/', 'Expect: 200-ok\r\n').replace('Connection: Upgrade', 'Connection: Upgrade, close'))
  assert.match(expectation, /^HTTP\/1\.1 417 /)
  assert.equal(up.conns.length, 0)
  // No body follows, so no interim 100 is due (RFC 9110 §10.1.1); Expect is not sent upstream.
  const c = await client(t, proxy.port)
  c.socket.write(handshake('/', 'Expect: 100-continue\r\n'))
  await until(() => c.text().includes('\r\n\r\n'), 'the 101')
  assert.match(c.text(), /^HTTP\/1\.1 101 /)
  assert.ok(!/\r\nexpect:/i.test(up.conns[0]!.received), up.conns[0]!.received)
  c.socket.destroy()
  await until(() => proxy.log.accesses.length === 1, 'the access record')
})

test('a 101 without Connection: upgrade is an invalid upstream response (502)', T, async (t) => {
  const up = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\n\r\n'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const reply = await rawRequest(proxy.port, handshake())
  assert.match(reply, /^HTTP\/1\.1 502 /)
  assert.ok(proxy.log.lines.some((l) => l.message === 'upstream request failed: invalid upstream response (101 without Connection: upgrade)'))
})

test('a 101 to a protocol the client did not ask for, without Upgrade, or in HTTP/1.0 is an invalid upstream response (502, RFC 9110 §7.8)', T, async (t) => {
  for (const [head, reason] of [
    ['HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n', '101 to a protocol the client did not ask for: h2c'],
    ['HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo/1, bar\r\n\r\n', '101 to a protocol the client did not ask for: bar'],
    ['HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n', '101 without Upgrade'],
    ['HTTP/1.0 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo/1\r\n\r\n', '101 in HTTP/1.0'],
  ] as const) {
    const up = await rawUpstream(t, (socket) => socket.write(head))
    const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
    const reply = await rawRequest(proxy.port, handshake())
    assert.match(reply, /^HTTP\/1\.1 502 /, reason)
    assert.ok(proxy.log.lines.some((l) => l.message === `upstream request failed: invalid upstream response (${reason})`), JSON.stringify(proxy.log.lines))
  }
  // The protocol the client asked for, in any letter case: tunnelled.
  const up = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: FOO/1\r\n\r\n'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(handshake())
  await until(() => c.text().includes('\r\n\r\n'), 'the 101')
  assert.match(c.text(), /^HTTP\/1\.1 101 /)
})

test("an answer node:http cannot parse is an invalid upstream response (502), its parser's reason logged", T, async (t) => {
  const up = await rawUpstream(t, (socket) => socket.end('HTTP/1.1 2x0 Nope\r\n\r\n'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const reply = await rawRequest(proxy.port, handshake())
  assert.match(reply, /^HTTP\/1\.1 502 /)
  assert.ok(proxy.log.lines.some((l) => l.message === 'upstream request failed: invalid upstream response (Invalid status code)'))
})

test('a client that leaves during the handshake frees the server slot; the record says so', T, async (t) => {
  const up = await rawUpstream(t, () => {}) // never answers
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(handshake())
  await until(() => up.conns.length === 1 && up.conns[0]!.received.includes('\r\n\r\n'), 'the handshake upstream')
  assert.equal(proxy.runtime.states.get(up.url).inflight, 1)
  c.socket.destroy()
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.log.accesses[0]!.error, 'client closed the connection')
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
  await until(() => up.conns[0]!.socket.destroyed || up.conns[0]!.ended, 'the upstream connection closed')
})

test('a caching route still tunnels (the cache never sees an upgrade)', T, async (t) => {
  const up = await rawUpstream(t, (socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: upgrade\r\n\r\n')
    socket.on('data', (d: Buffer) => socket.write(d))
  })
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u', cache: true }] })
  const c = await client(t, proxy.port)
  c.socket.write(handshake())
  await until(() => c.text().includes('\r\n\r\n'), 'the 101')
  c.socket.write('ping')
  await until(() => c.text().endsWith('ping'), 'the echo')
  assert.match(c.text(), /^HTTP\/1\.1 101 /)
  c.socket.destroy()
  await until(() => proxy.log.accesses.length === 1, 'the access record')
})

test("node:http's next-request clock never cuts a tunnel: an upgrade pipelined behind a response still being written stays open past keepAliveTimeout + headersTimeout", T, async (t) => {
  const up = await rawUpstream(t, (socket, head) => {
    if (!/upgrade: foo/i.test(head)) return void setTimeout(() => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nslow-ok'), 100)
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: foo/1\r\n\r\n')
    socket.on('data', (d: Buffer) => socket.write(d)) // echo
  })
  const proxy = await proxyFor(t, { server: { fastFront: false, keepAliveTimeout: 100, headersTimeout: 100 }, upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(`GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n${handshake('/ws')}`)
  await until(() => c.text().includes('HTTP/1.1 101'), 'the 101 behind the first response')
  // Ping through the tunnel, one echo at a time, for well over the clock's 200 ms.
  const started = Date.now()
  for (let i = 0; Date.now() - started < 600; i++) {
    c.socket.write(`ping${i};`)
    await until(() => c.text().includes(`ping${i};`), `echo ${i}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  assert.doesNotMatch(c.text(), /408/)
  assert.equal(c.socket.destroyed, false, 'the tunnel is open')
})

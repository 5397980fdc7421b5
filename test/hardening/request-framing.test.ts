/**
 * Client-side framing attacks, as raw bytes: request smuggling (CL/TE), header syntax,
 * request-line oddities, limits, pipelining, Expect, connection management, slowloris.
 * Every rejection must close the connection and never reach the upstream.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient, rawBackend, proxyFor, until, type RawBackend } from './helpers.js'
import type { TestProxy } from '../helpers/servers.js'
import { NodeListener, type RefusedRequest } from '../../runtime/adapters/node/node-listener.js'

const T = { timeout: 10_000 }

/** Sends `bytes`; expects `status`, the connection closed, and nothing forwarded. */
async function expectRejected(proxy: TestProxy, backend: RawBackend, bytes: string, status: number | number[], label: string): Promise<void> {
  const before = backend.requests.length
  const c = await RawClient.open(proxy.port)
  c.write(bytes)
  const res = await c.response()
  const statuses = Array.isArray(status) ? status : [status]
  assert.ok(statuses.includes(res.status), `${label}: got ${res.status}, want ${statuses.join('/')}`)
  await c.closed // the proxy closes: framing after a rejected head cannot be trusted
  assert.equal(backend.requests.length, before, `${label}: reached the upstream`)
}

async function setup(t: Parameters<typeof proxyFor>[0], extra = {}) {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, extra)
  return { backend, proxy }
}

test('CL+TE, TE+CL and conflicting Content-Length are 400 + close, never forwarded', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const smuggle = 'GET /admin HTTP/1.1\r\nHost: a\r\n\r\n'
  const cases: Array<[string, string]> = [
    ['CL.TE', `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle}`],
    ['TE.CL', `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${smuggle}\r\n0\r\n\r\n`],
    ['CL list 5, 6', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!'],
    ['CL list 5, 5', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello'],
    ['two CL headers', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['two equal CL headers', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello'],
    ['CL +5', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello'],
    ['CL -5', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\nhello'],
    ['CL hex', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello'],
    ['CL 5 5', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello'],
    ['CL overflow', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\nhello'],
  ]
  for (const [label, bytes] of cases) await expectRejected(proxy, backend, bytes, 400, label)
})

test('Transfer-Encoding other than plain chunked is refused (400 from the parser, 501 for a coding)', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const body = '5\r\nhello\r\n0\r\n\r\n'
  const cases: Array<[string, string, number | number[]]> = [
    ['gzip', 'Transfer-Encoding: gzip', [400, 501]],
    ['chunked, identity', 'Transfer-Encoding: chunked, identity', [400, 501]],
    ['identity', 'Transfer-Encoding: identity', [400, 501]],
    ['xchunked', 'Transfer-Encoding: xchunked', [400, 501]],
    ['gzip, chunked', 'Transfer-Encoding: gzip, chunked', 501],
    ['duplicated', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked', [400, 501]],
    ['chunked + identity headers', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity', [400, 501]],
    ['space before colon', 'Transfer-Encoding : chunked', 400],
    ['vertical tab', 'Transfer-Encoding:\x0bchunked', 400],
  ]
  for (const [label, header, status] of cases) {
    await expectRejected(proxy, backend, `POST / HTTP/1.1\r\nHost: a\r\n${header}\r\n\r\n${body}`, status, label)
  }
  // On HTTP/1.0 any Transfer-Encoding means faulty framing (RFC 9112 §6.1).
  await expectRejected(proxy, backend, `POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 400, 'TE on 1.0')
  // Upper-case chunked is the same coding and is accepted; the upstream gets a fresh framing.
  const c = await RawClient.open(proxy.port)
  c.write(`POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n${body}`)
  assert.equal((await c.response()).status, 200)
  c.destroy()
  assert.equal(backend.requests.at(-1)!.line, 'POST /ok HTTP/1.1')
})

test('malformed chunked bodies abort the request and close the connection', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const cases: Array<[string, string]> = [
    ['chunk-size overflow', 'FFFFFFFFFFFFFFFFF1\r\nhello\r\n0\r\n\r\n'],
    ['bad chunk extension', '5;a"b\r\nhello\r\n0\r\n\r\n'],
    ['bare LF after size', '5\nhello\r\n0\r\n\r\n'],
    ['space in size', '5 \r\nhello\r\n0\r\n\r\n'],
    ['non-hex size', 'zz\r\nhello\r\n0\r\n\r\n'],
    ['missing CRLF after data', '5\r\nhelloXX0\r\n\r\n'],
  ]
  for (const [label, body] of cases) {
    const c = await RawClient.open(proxy.port)
    c.write(`POST /${label.replace(/\W/g, '-')} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${body}`)
    // The head was valid, so the request is already on its way upstream; the body error still
    // ends in a 400 and a closed connection (which aborts the upstream exchange).
    assert.equal((await c.response()).status, 400, label)
    await c.closed
  }
  // The upstream never received any of them as a complete request, and every exchange was aborted.
  assert.equal(backend.requests.length, 0)
  await until(() => backend.closedConnections === backend.connections)
  // A chunk extension is legal and ignored.
  const c = await RawClient.open(proxy.port)
  c.write('POST /ext HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  c.destroy()
  assert.equal(backend.requests.at(-1)!.line, 'POST /ext HTTP/1.1')
})

test('header syntax errors are 400 + close: obs-fold, space before colon, NUL/CR/DEL, bare CR/LF', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const cases: Array<[string, string]> = [
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n'],
    ['obs-fold tab', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n\tb\r\n\r\n'],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n'],
    ['NUL in value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n'],
    ['CR in value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rb\r\n\r\n'],
    ['DEL in value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\x7fb\r\n\r\n'],
    ['DEL in name', 'GET / HTTP/1.1\r\nHost: a\r\nX\x7fA: b\r\n\r\n'],
    ['separator in name', 'GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n'],
    ['space in name', 'GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n'],
    ['empty name', 'GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n'],
    ['no colon', 'GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n'],
    ['bare LF line endings', 'GET / HTTP/1.1\nHost: a\n\n'],
    ['bare CR line endings', 'GET / HTTP/1.1\rHost: a\r\r'],
    ['bare LF in header line', 'GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n'],
    ['whitespace before the first field', 'GET / HTTP/1.1\r\n X-A: b\r\nHost: a\r\n\r\n'],
    ['NUL in request line', 'GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['CR in target', 'GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n'],
  ]
  for (const [label, bytes] of cases) await expectRejected(proxy, backend, bytes, 400, label)
})

test('request-line oddities: versions, methods, target forms', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const cases: Array<[string, string, number | number[]]> = [
    ['HTTP/0.9', 'GET /\r\n\r\n', [400, 505]],
    ['HTTP/2.0 on h1', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', [400, 505]],
    ['HTTP/3.1', 'GET / HTTP/3.1\r\nHost: a\r\n\r\n', [400, 505]],
    ['lowercase method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['lowercase version', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400],
    ['authority-form for GET', 'GET a.example:80 HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['asterisk-form for GET', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400],
    ['missing Host on 1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ]
  for (const [label, bytes, status] of cases) await expectRejected(proxy, backend, bytes, status, label)
  // CONNECT is not tunnelled.
  const c = await RawClient.open(proxy.port)
  c.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  assert.equal((await c.response()).status, 405)
  await c.closed
  assert.equal(backend.requests.length, 0)
})

test('OPTIONS * is answered by the proxy (Allow), not forwarded', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const c = await RawClient.open(proxy.port)
  c.write('OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n')
  const res = await c.response()
  assert.equal(res.status, 200)
  assert.match(res.header('allow')!, /GET/)
  assert.equal((await c.response()).body.toString(), 'GET /after HTTP/1.1') // keep-alive
  c.destroy()
  assert.equal(backend.requests.length, 1)
})

test('limits: long target → 414, large head → 431, too many fields → 431', T, async (t) => {
  const { backend, proxy } = await setup(t, { server: { maxHeaderSize: '16kb' } })
  await expectRejected(proxy, backend, `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'target over 8k')
  await expectRejected(proxy, backend, `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'target over the head limit')
  await expectRejected(proxy, backend, `GET /?${'q'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'long query')
  await expectRejected(proxy, backend, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, 'one huge field')
  const many = Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join('')
  await expectRejected(proxy, backend, `GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`, 431, '150 fields')
  const lots = Array.from({ length: 3000 }, (_, i) => `X${i}:v\r\n`).join('')
  await expectRejected(proxy, backend, `GET / HTTP/1.1\r\nHost: a\r\n${lots}\r\n`, 431, '3000 fields')
  // Just under the limits is fine.
  const ok = Array.from({ length: 90 }, (_, i) => `X-H${i}: v\r\n`).join('')
  const c = await RawClient.open(proxy.port)
  c.write(`GET /${'a'.repeat(8000)} HTTP/1.1\r\nHost: a\r\n${ok}\r\n`)
  assert.equal((await c.response()).status, 200)
  c.destroy()
})

test('Host: several, with userinfo, path, spaces or bad characters → 400', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const cases: Array<[string, string]> = [
    ['two Host headers', 'Host: a\r\nHost: b'],
    ['two Host headers, same value', 'Host: a\r\nHost: a'],
    ['mixed-case duplicate', 'Host: a\r\nhOST: b'],
    ['userinfo', 'Host: user@a.example'],
    ['path', 'Host: a.example/admin'],
    ['space', 'Host: a.example b'],
    ['comma list', 'Host: a.example, b.example'],
    ['backslash', 'Host: a.example\\b'],
    ['bad port', 'Host: a.example:80x'],
    ['percent', 'Host: a%2eexample'],
    ['empty label', 'Host: a..example'],
    ['leading dot', 'Host: .a.example'],
    ['port only', 'Host: :80'],
  ]
  for (const [label, host] of cases) await expectRejected(proxy, backend, `GET / HTTP/1.1\r\n${host}\r\n\r\n`, 400, label)
  // Valid forms still work: name:port, IPv6 literal, empty Host (RFC 9112 §3.2).
  for (const host of ['a.example:8080', '[::1]:80', '127.0.0.1', 'under_score.local', '']) {
    const c = await RawClient.open(proxy.port)
    c.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    assert.equal((await c.response()).status, 200, host)
    c.destroy()
  }
})

test('Host: the trailing dot of a fully qualified name is removed before routing (as nginx)', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { routes: [{ match: { host: 'admin.example' }, respond: { status: 403, body: 'no' } }] })
  for (const bytes of [
    'GET / HTTP/1.1\r\nHost: admin.example.\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: ADMIN.example.:8080\r\n\r\n',
    'GET http://admin.example./ HTTP/1.1\r\nHost: other\r\n\r\n',
  ]) {
    const c = await RawClient.open(proxy.port)
    c.write(bytes)
    assert.equal((await c.response()).status, 403, bytes)
    c.destroy()
  }
  const c = await RawClient.open(proxy.port)
  c.write('GET / HTTP/1.1\r\nHost: public.example.:8080\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  c.destroy()
  assert.deepEqual(backend.requests[0]!.all('host'), ['public.example:8080'])
})

test('TRACE is refused with 405 (nginx); Upgrade: h2c is never forwarded (WebSockets are tunnelled: test/upgrade/)', T, async (t) => {
  const { backend, proxy } = await setup(t)
  await expectRejected(proxy, backend, 'TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret=1\r\n\r\n', 405, 'TRACE')
  const c = await RawClient.open(proxy.port)
  c.write('GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  c.destroy()
  for (const r of backend.requests) {
    assert.equal(r.header('upgrade'), undefined)
    assert.equal(r.header('http2-settings'), undefined)
    assert.equal(r.header('connection'), 'keep-alive')
  }
})

test('pipelined requests are answered in order; a smuggled request is a request of its own', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const c = await RawClient.open(proxy.port)
  c.write(
    'POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 33\r\n\r\nGET /hidden HTTP/1.1\r\nHost: a\r\n\r\n'
    + 'GET /two HTTP/1.1\r\nHost: a\r\n\r\n'
    + 'POST /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
    + 'HEAD /four HTTP/1.1\r\nHost: a\r\n\r\n',
  )
  assert.equal((await c.response()).body.toString(), 'POST /one HTTP/1.1')
  assert.equal((await c.response()).body.toString(), 'GET /two HTTP/1.1')
  assert.equal((await c.response()).body.toString(), 'POST /three HTTP/1.1')
  const head = await c.response({ head: true })
  assert.equal(head.status, 200)
  c.destroy()
  assert.deepEqual(backend.requests.map((r) => r.line), ['POST /one HTTP/1.1', 'GET /two HTTP/1.1', 'POST /three HTTP/1.1', 'HEAD /four HTTP/1.1'])
  // The "hidden" request stayed inside the first request's body.
  assert.equal(backend.requests[0]!.body, 'GET /hidden HTTP/1.1\r\nHost: a\r\n\r\n')
  // Re-framed by the proxy: chunked again, or a Content-Length when the body was already in.
  assert.match(backend.requests[2]!.body, /^(abc|3\r\nabc\r\n0\r\n\r\n)$/)
})

test('a malformed request after pipelined good ones: good ones answered first, then 400 and close', T, async (t) => {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const backend = await rawBackend((req) => {
    if (req.line.startsWith('GET /slow')) void released.then(() => req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nslow'))
    else req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nfast')
  })
  const proxy = await proxyFor(t, backend)
  const c = await RawClient.open(proxy.port)
  c.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\n')
  // The slow one is upstream before it answers (the proxy, like nginx, may forward pipelined
  // requests one at a time, so /fast need not be there yet).
  while (backend.requests.length < 1) await new Promise((r) => setImmediate(r))
  release()
  const first = await c.response()
  assert.equal(first.body.toString(), 'slow')
  assert.equal((await c.response()).body.toString(), 'fast')
  assert.equal((await c.response()).status, 400)
  await c.closed
})

test('Connection: close is honoured; HTTP/1.0 closes unless keep-alive is asked for', T, async (t) => {
  const { backend, proxy } = await setup(t)
  let c = await RawClient.open(proxy.port)
  c.write('GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /after-close HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.match((await c.response()).head, /connection: close/i)
  assert.equal(await c.rest(), '') // nothing after the close: /after-close is never served
  assert.ok(!backend.requests.some((r) => r.line.includes('/after-close')))
  c = await RawClient.open(proxy.port)
  c.write('GET /a HTTP/1.0\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  await c.closed
  c = await RawClient.open(proxy.port)
  c.write('GET /a HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n')
  const res = await c.response()
  assert.match(res.head, /connection: keep-alive/i)
  c.write('GET /b HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n')
  assert.equal((await c.response()).body.toString(), 'GET /b HTTP/1.1') // upstream always gets HTTP/1.1
  c.destroy()
})

test('HTTP/1.0: a Connection that lists close closes, even with keep-alive beside it (llhttp keeps it), on both fronts', T, async (t) => {
  for (const fastFront of [true, false]) {
    const { backend, proxy } = await setup(t, { server: { fastFront } })
    for (const connection of ['Connection: keep-alive, close', 'Connection: keep-alive\r\nConnection: close', 'Connection: Close, Keep-Alive']) {
      const c = await RawClient.open(proxy.port)
      c.write(`GET /x HTTP/1.0\r\nHost: a\r\n${connection}\r\n\r\nGET /behind HTTP/1.1\r\nHost: a\r\n\r\n`)
      const res = await c.response()
      assert.equal(res.status, 200)
      assert.match(res.head, /connection: close/i, `${connection} (fastFront ${fastFront})`)
      assert.equal(await c.rest(), '', 'nothing served after it')
    }
    assert.ok(!backend.requests.some((r) => r.line.includes('/behind')), `fastFront ${fastFront}: a request behind the close reached the upstream`)
  }
})

test('a Content-Length past 2^53 − 1 is refused (413), never forwarded rounded, on both fronts', T, async (t) => {
  for (const fastFront of [true, false]) {
    const { backend, proxy } = await setup(t, { server: { fastFront } })
    for (const length of ['18446744073709551615', '9007199254740993', '9007199254740992']) {
      await expectRejected(proxy, backend, `POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: ${length}\r\n\r\nabc`, 413, `CL ${length} (fastFront ${fastFront})`)
    }
    // A 16-digit value a number holds exactly (leading zeros) passes the check.
    const c = await RawClient.open(proxy.port)
    c.write('POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000003\r\n\r\nabc')
    assert.equal((await c.response()).status, 200)
    c.destroy()
  }
})

test('framing llhttp refuses only after the head was handed over (Transfer-Encoding: chunked<TAB>) never reaches the upstream', T, async (t) => {
  for (const fastFront of [true, false]) {
    const { backend, proxy } = await setup(t, { server: { fastFront } })
    for (const te of ['chunked\t', 'chunked \t', 'Chunked\t ']) {
      const c = await RawClient.open(proxy.port)
      c.write(`POST /late HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n1\r\na\r\n0\r\n\r\n`)
      const res = await c.response()
      assert.ok(res.status === 400 || res.status === 501, `${JSON.stringify(te)}: ${res.status}`)
      await c.closed
    }
    // A request after them is forwarded; by then anything written for the refused ones would be there.
    const c = await RawClient.open(proxy.port)
    c.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal((await c.response()).status, 200)
    c.destroy()
    assert.ok(!backend.received.includes('/late'), `fastFront ${fastFront}: the refused head reached the upstream:\n${backend.received}`)
  }
})

test('HTTP/1.0 client gets a close-delimited body when the upstream sends chunked', T, async (t) => {
  const backend = await rawBackend((req) => req.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'))
  const proxy = await proxyFor(t, backend)
  const c = await RawClient.open(proxy.port)
  c.write('GET / HTTP/1.0\r\nHost: a\r\n\r\n')
  const rest = await c.rest()
  assert.match(rest, /^HTTP\/1\.1 200 /)
  assert.doesNotMatch(rest, /transfer-encoding/i) // HTTP/1.0 has no chunked coding
  assert.ok(rest.endsWith('\r\n\r\nhello world'), JSON.stringify(rest))
})

test('Expect: 100-continue gets 100 then the response; other expectations get 417', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const c = await RawClient.open(proxy.port)
  c.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
  assert.equal((await c.response()).status, 100)
  c.write('hello')
  const res = await c.response()
  assert.equal(res.status, 200)
  c.destroy()
  assert.equal(backend.requests[0]!.body, 'hello')
  assert.equal(backend.requests[0]!.header('expect'), undefined) // answered here, not forwarded
  // A request refused anyway gets its final status instead of an invitation to send the body.
  const bad = await RawClient.open(proxy.port)
  bad.write('POST /up HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
  assert.equal((await bad.response()).status, 400)
  await bad.closed
  const other = await RawClient.open(proxy.port)
  other.write('POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: something-else\r\n\r\n')
  assert.equal((await other.response()).status, 417)
  other.destroy()
  assert.equal(backend.requests.length, 1)
})

test('a body on GET is forwarded with its framing regenerated', T, async (t) => {
  const { backend, proxy } = await setup(t)
  const c = await RawClient.open(proxy.port)
  c.write('GET /g HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1')
  c.destroy()
  assert.equal(backend.requests[0]!.body, 'hello')
  assert.equal(backend.requests[0]!.header('content-length'), '5')
})

test('slowloris: a head not finished within server.headersTimeout gets 408 and the connection closes', T, async (t) => {
  const { backend, proxy } = await setup(t, { server: { headersTimeout: 200 } })
  const c = await RawClient.open(proxy.port)
  c.write('GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ')
  const rest = await c.rest() // resolves only once the proxy closes the connection
  assert.match(rest, /^HTTP\/1\.1 408 /)
  assert.equal(backend.requests.length, 0)
  // The proxy keeps serving.
  const ok = await RawClient.open(proxy.port)
  ok.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await ok.response()).status, 200)
  ok.destroy()
})

test('slowloris with empty lines: a connection node:http serves must start its next request within keepAliveTimeout + headersTimeout (408), whatever it sends', T, async (t) => {
  const drip = async (c: RawClient): Promise<string> => {
    // Empty lines begin no request (RFC 9112 §2.2): node:http alone kept such a connection forever.
    while (!c.isClosed) {
      c.write('\r\n')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    return c.rest()
  }
  // node:http from the start, and after the fast front handed the connection over (a chunked body).
  for (const [fastFront, first] of [[false, 'GET /a HTTP/1.1\r\nHost: a\r\n\r\n'], [true, 'POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n']] as const) {
    const { backend, proxy } = await setup(t, { server: { fastFront, headersTimeout: 200, keepAliveTimeout: 200 } })
    const c = await RawClient.open(proxy.port)
    c.write(first)
    assert.equal((await c.response()).status, 200)
    assert.match(await drip(c), /^HTTP\/1\.1 408 /, `fastFront ${fastFront}`)
    assert.equal(backend.requests.length, 1)
    // Nothing but empty lines from the start: the same.
    const d = await RawClient.open(proxy.port)
    if (!fastFront) assert.match(await drip(d), /^HTTP\/1\.1 408 /)
    else d.destroy() // (the fast front times a head from its first byte: the slowloris test above)
  }
  // A client that sends its next request within the keep-alive time is served, on the same connection.
  const { proxy } = await setup(t, { server: { fastFront: false, headersTimeout: 300, keepAliveTimeout: 2000 } })
  const c = await RawClient.open(proxy.port)
  for (let i = 0; i < 3; i++) {
    c.write('GET /again HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal((await c.response()).status, 200)
    await new Promise((resolve) => setTimeout(resolve, 400)) // idle longer than headersTimeout, within keep-alive
  }
  assert.equal(c.isClosed, false)
  c.destroy()
})

test('NodeListener reports what it refuses (for the log), parse errors included', T, async (t) => {
  const refused: RefusedRequest[] = []
  const listener = new NodeListener({ host: '127.0.0.1', port: 0 }, { drainTimeout: 100, headersTimeout: 1000, keepAliveTimeout: 1000, maxHeaderSize: 16 * 1024 }, (_req, res) => res.end('ok'), (r) => refused.push(r))
  const { port } = await listener.listen()
  t.after(() => listener.close(100))
  for (const bytes of ['GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
    const c = await RawClient.open(port)
    c.write(bytes)
    assert.equal((await c.response()).status, 400)
    await c.closed
  }
  assert.equal(refused.length, 2)
  assert.deepEqual([refused[0]!.status, refused[0]!.reason, refused[0]!.target], [400, 'more than one Host header', '/'])
  assert.equal(refused[1]!.status, 400)
  assert.match(refused[1]!.reason, /HPE_UNEXPECTED_CONTENT_LENGTH/)
  // A client that just goes away is not a refusal.
  const gone = await RawClient.open(port)
  gone.write('GET / HTTP/1.1\r\nHost: a\r\n')
  gone.socket.end()
  await gone.closed
  assert.equal(refused.length, 2)
})

test("node:http's next-request clock: an answered request's body still arriving is waited for; requests through plain upgrades add no listeners", T, async (t) => {
  const { proxy } = await setup(t, { server: { fastFront: false, keepAliveTimeout: 100, headersTimeout: 100 }, routes: [{ match: { path: '/nope' }, respond: { status: 404 } }] })
  const c = await RawClient.open(proxy.port)
  c.write('POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n')
  assert.equal((await c.response()).status, 404) // answered before its body
  // The rest of the body trickles in over ~600 ms (the clock is 200 ms): discarded, not timed out.
  for (let i = 0; i < 30; i++) {
    c.write('x')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  c.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 200)
  c.destroy()
  // An Upgrade that is not tunnelled (h2c) is served as a plain request, node:http taking the socket again each time.
  const warnings: string[] = []
  const onWarning = (w: Error): void => void warnings.push(w.name)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  const d = await RawClient.open(proxy.port)
  for (let i = 0; i < 15; i++) {
    d.write('GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n')
    assert.equal((await d.response()).status, 200)
  }
  d.destroy()
  // The fast front hands a connection to node:http (a chunked body) and takes it back (h2c served plain), again and again.
  const { proxy: fast } = await setup(t)
  const e = await RawClient.open(fast.port)
  for (let i = 0; i < 15; i++) {
    e.write('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n')
    assert.equal((await e.response()).status, 200)
    e.write('GET /h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n')
    assert.equal((await e.response()).status, 200)
  }
  e.destroy()
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), [])
})

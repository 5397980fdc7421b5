/**
 * The fast front (runtime/adapters/node/fast-front.ts) against node:http's: the same bytes in
 * give the same bytes out (Date aside) and the same requests upstream, whichever front serves
 * them; requests it does not serve are handed over with nothing lost or reordered.
 * (Both proxies see the same requests in the same order, so even their caches agree.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { RawClient, ClosedEarly, rawBackend, proxyFor, okReply, type RawBackend, type SeenRequest } from './helpers.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { SwitchyardConfig } from '../../src/config/types.js'

const T = { timeout: 15_000 }

function reply(req: SeenRequest): void {
  const path = req.line.split(' ')[1]
  if (path === '/chunked') req.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n')
  else if (path === '/empty') req.socket.write('HTTP/1.1 204 No Content\r\nx-empty: 1\r\n\r\n')
  else if (path === '/eof') req.socket.end('HTTP/1.1 200 OK\r\nx-framing: eof\r\n\r\nuntil the end')
  else if (path?.startsWith('/cached/')) req.socket.write('HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\netag: "v1"\r\ncontent-length: 6\r\n\r\ncached')
  else if (path?.startsWith('/vary/')) {
    const body = `lang=${req.headers.filter(([n]) => n === 'accept-language').map(([, v]) => v).join('|')}`
    req.socket.write(`HTTP/1.1 200 OK\r\ncache-control: max-age=60\r\nvary: Accept-Language\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
  } else if (path === '/created') req.socket.write('HTTP/1.1 201 Created\r\nlocation: /x\r\ncontent-length: 2\r\n\r\nok')
  else okReply(req)
}

/**
 * Everything the proxy sends back for `bytes`, up to its close. Given several parts, each is
 * written once the proxy has had a turn to read the one before (two event-loop turns: the
 * loopback delivers at once, and a poll phase runs between them), so each arrives as a read of
 * its own.
 */
function roundTrip(port: number, bytes: string | readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', async () => {
      socket.setNoDelay(true)
      const parts = typeof bytes === 'string' ? [bytes] : bytes
      for (let i = 0; i < parts.length && !socket.destroyed; i++) {
        if (i > 0) for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r))
        if (!socket.destroyed) socket.write(Buffer.from(parts[i]!, 'latin1'))
      }
    })
    let out = ''
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')))
    socket.on('error', reject)
    // Clock-dependent fields go: the two proxies may see a second boundary at different times.
    socket.on('close', () => resolve(out.replace(/\r\ndate: [^\r]*/gi, '').replace(/\r\nage: \d+/gi, '\r\nage: N').replace(/ttl=\d+/g, 'ttl=N')))
  })
}

// Each ends in a request that closes the connection, so the whole answer is known at the close.
const LAST = 'GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
const CASES: Array<[string, string]> = [
  ['plain GET', `GET /a?q=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n${LAST}`],
  ['HEAD', `HEAD /a HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['chunked upstream', `GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['204 upstream', `GET /empty HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['close-delimited upstream', `GET /eof HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['201 and Content-Length: 0 request', `DELETE /created HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n${LAST}`],
  ['pipelined, then a body', `GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /4 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  // Content-Length bodies (served by the fast front too): framing, and answers that do not read them.
  ['a body holding a request', `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 34\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['bodies back to back', `PUT /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiPATCH /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nxPOST /3 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\ny${LAST}`],
  ['Content-Length with leading zeros', `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc${LAST}`],
  ['Content-Length: 00', `POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n${LAST}`],
  ['a body to a respond route and a redirect', `POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcPOST /old/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi${LAST}`],
  ['a body to a handler and a hooked route', `POST /handler HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcPOST /hooked/1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi${LAST}`],
  ['a body and Connection: close', 'POST /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhiGET /never HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['a body on a cached route', `POST /cached/20 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /cached/20 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['two Content-Length fields', 'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi'],
  ['Content-Length and Transfer-Encoding', 'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
  ['Content-Length past 2^53', 'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nhi'],
  ['Content-Length not a number', 'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\nhi'],
  ['absolute-form', `GET http://b.example/x HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['redirect route', `GET /old/page HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['respond route', `GET /status HTTP/1.1\r\nHost: a\r\n\r\nHEAD /status HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  // One request per connection, so each case starts from a known cache state.
  ['cached route: miss', `GET /cached/1 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['cached route: hit', `GET /cached/1 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['cached route: HEAD hit', `HEAD /cached/1 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['cached route: 304', `GET /cached/1 HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n${LAST}`],
  // Repeated fields the cache reads: node:http joins them (a variant of its own; no-store counts).
  ['cached, two Accept-Language lines', `GET /vary/1 HTTP/1.1\r\nHost: a\r\nAccept-Language: en\r\nAccept-Language: xx\r\n\r\n${LAST}`],
  ['cached, one Accept-Language line', `GET /vary/1 HTTP/1.1\r\nHost: a\r\nAccept-Language: en\r\n\r\n${LAST}`],
  ['cached, no-store on a second Cache-Control line', `GET /vary/2 HTTP/1.1\r\nHost: a\r\nCache-Control: max-age=0\r\nCache-Control: no-store\r\n\r\nGET /vary/2 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  // Bytes llhttp does not count against maxHeaderSize: node:http takes over past a margin.
  ['80 KB of blank lines before a request', `${'\r\n'.repeat(40_000)}GET /a HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['40 KB of whitespace before a value', `GET /a HTTP/1.1\r\nHost: a\r\nX-A:${' '.repeat(40_000)}v\r\n\r\n${LAST}`],
  // maxHeaderSize (16 KiB) counts target, names and values: at, below and above the limit.
  ...[-1, 0, 1].map((d): [string, string] => [`head of 16 KiB ${d >= 0 ? '+' : ''}${d}`, `GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(16_384 - 7 + d)}\r\n\r\n${LAST}`]),
  ['a hooked route and a handler between plain ones', `GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /hooked/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /handler HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['HTTP/1.0', 'GET /a HTTP/1.0\r\nHost: a\r\n\r\n'],
  // HTTP/1.0 keep-alive: kept only when the response has a Content-Length; a body of unknown
  // length ends at the close (chunks only when TE names chunked). What is pipelined behind a
  // response that closes is never forwarded (test/hardening/node-path-pipelining.test.ts).
  ...([
    ['', '/a', LAST], ['', '/chunked', ''], ['', '/empty', ''], ['', '/eof', ''], ['', '/handler', ''], ['', '/status', LAST],
    ['', '/old/x', LAST], ['', '/cached/10', LAST], ['', '/cached/10', LAST], ['TE: chunked\r\n', '/chunked', LAST], ['TE: trailers\r\n', '/chunked', ''],
  ] as const).map(([te, path, then]): [string, string] => [`HTTP/1.0 keep-alive ${te.trim()} ${path}`, `GET ${path} HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n${te}\r\n${then}`]),
  ['HTTP/1.0 keep-alive HEAD', `HEAD /a HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n${LAST}`],
  ['HTTP/1.0 keep-alive pipelined', `GET /1 HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\nGET /3 HTTP/1.0\r\nHost: a\r\n\r\nGET /4 HTTP/1.1\r\nHost: a\r\n\r\n`],
  ['HTTP/1.0 without Host', 'GET /a HTTP/1.0\r\n\r\n'],
  // Connection: close on HTTP/1.1: answered so, and nothing pipelined behind it is served.
  ['close, then more pipelined', `GET /1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n`],
  ['close to a chunked upstream', 'GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n'],
  ['close HEAD', 'HEAD /a HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n'],
  ['missing Host', 'GET /a HTTP/1.1\r\nAccept: */*\r\n\r\n'],
  ['two Host headers', 'GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
  ['TRACE', 'TRACE /a HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['OPTIONS *', `OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['bad target', 'GET /a/../../b HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['space before colon', 'GET /a HTTP/1.1\r\nHost : a\r\n\r\n'],
  ['bare LF', 'GET /a HTTP/1.1\nHost: a\n\n'],
  ['bad request after good ones', `GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nNOT HTTP\r\n\r\n`],
  ['head too large', `GET /a HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`],
  ['obs-fold', 'GET /a HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n'],
]

async function proxyWith(t: Parameters<typeof proxyFor>[0], backend: RawBackend, fastFront: boolean, server: SwitchyardConfig['server'] = {}) {
  return proxyFor(t, backend, {}, {
    server: { ...server, fastFront },
    routes: [
      { match: { path: '/old/*' }, redirect: { to: '/new/:splat' } },
      { match: { path: '/status' }, respond: { status: 200, body: 'up\n', headers: { 'x-respond': '1' } } },
      { match: { path: '/hooked/*' }, to: 'b', hooks: { onRequest: () => {} } },
      { match: { path: ['/cached/*', '/vary/*'] }, to: 'b', cache: true },
      { match: { path: '/handler' }, handle: async (req: Request) => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(`streamed ${new URL(req.url).pathname}`)); c.close() } })) },
    ],
  } as Partial<SwitchyardConfig>)
}

test('the fast front and node:http answer the same bytes alike and send the same requests upstream', T, async (t) => {
  const fastBackend = await rawBackend(reply)
  const nodeBackend = await rawBackend(reply)
  const fast = await proxyWith(t, fastBackend, true)
  const node = await proxyWith(t, nodeBackend, false)
  for (const [label, bytes] of CASES) {
    const before = [fastBackend.requests.length, nodeBackend.requests.length]
    const [viaFast, viaNode] = await Promise.all([roundTrip(fast.port, bytes), roundTrip(node.port, bytes)])
    assert.equal(viaFast, viaNode, label)
    assert.ok(viaFast.startsWith('HTTP/1.1 '), `${label}: answered`)
    // Sorted: the comparison does not depend on the order in which the backend saw them.
    // (A request without Host is sent with the upstream's address, which differs between the two.)
    const upstream = (b: RawBackend, from: number) => b.requests.slice(from).map((r) => `${r.head}\n${r.body}`.replace(/host: 127\.0\.0\.1:\d+/, 'host: upstream')).sort()
    assert.deepEqual(upstream(fastBackend, before[0]!), upstream(nodeBackend, before[1]!), `${label}: upstream`)
  }
})

test('a head that arrives a byte at a time is served', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyWith(t, backend, true)
  const c = await RawClient.open(proxy.port)
  c.socket.setNoDelay(true)
  for (const byte of 'GET /slowly HTTP/1.1\r\nHost: a\r\n\r\n') {
    c.write(byte)
    await new Promise((r) => setImmediate(r))
  }
  const res = await c.response()
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'GET /slowly HTTP/1.1')
  c.destroy()
})

test('fast front timeouts: an incomplete head gets 408, an idle keep-alive connection is closed', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { server: { headersTimeout: '200ms', keepAliveTimeout: '200ms' } })
  const slow = await RawClient.open(proxy.port)
  slow.write('GET /a HTTP/1.1\r\nHost: a\r\n') // never finished
  assert.equal((await slow.response()).status, 408)
  await slow.closed
  // A first request's head is timed from the accept (as node:http), not from its first byte.
  const silent = await RawClient.open(proxy.port)
  assert.equal((await silent.response()).status, 408)
  await silent.closed
  const idle = await RawClient.open(proxy.port)
  idle.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n')
  const res = await idle.response()
  assert.equal(res.status, 200)
  assert.match(res.head, /keep-alive: timeout=0/i)
  await idle.closed // closed by the proxy, nothing more asked
  assert.equal(backend.requests.length, 1)
})

test('fast front at shutdown: an idle connection closes, one in flight is answered with Connection: close', T, async (t) => {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const backend = await rawBackend((req) => void released.then(() => okReply(req)))
  const proxy = await proxyWith(t, backend, true)
  const idle = await RawClient.open(proxy.port)
  const busy = await RawClient.open(proxy.port)
  busy.write('GET /held HTTP/1.1\r\nHost: a\r\n\r\n')
  while (backend.requests.length < 1) await new Promise((r) => setImmediate(r))
  const closing = proxy.runtime.close(5000)
  await idle.closed
  release()
  const res = await busy.response()
  assert.equal(res.status, 200)
  assert.match(res.head, /connection: close/i)
  await busy.closed
  await closing
})

test('a response that closes the connection is delivered whole though the client pipelined 1 MB behind it (lingering close)', T, async (t) => {
  const SIZE = 2_000_000
  const big = Buffer.alloc(SIZE, 'b')
  const backend = await rawBackend((req) => {
    if (req.line.includes('/chunked')) req.socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${SIZE.toString(16)}\r\n${big.toString()}\r\n0\r\n\r\n`)
    else req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\n\r\n${big.toString()}`)
  })
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, true)
  const filler = 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(36_000) // ~1 MB, never to be served
  // Closed by the request; by the response (HTTP/1.0 keep-alive, length unknown: ends at the close).
  for (const first of ['GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 'GET /big HTTP/1.0\r\nHost: a\r\n\r\n', 'GET /chunked HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n']) {
    const received = await new Promise<number>((resolve, reject) => {
      let got = 0
      const s = connect(proxy.port, '127.0.0.1', () => s.write(first + filler))
      // Reads nothing at first, so the proxy is done writing long before the client has read it all.
      s.once('data', (d: Buffer) => {
        got += d.length
        s.pause()
        setTimeout(() => s.resume(), 300)
        s.on('data', (more: Buffer) => (got += more.length))
      })
      s.on('error', reject)
      s.on('close', () => resolve(got))
    })
    assert.ok(received > SIZE, `${JSON.stringify(first.split('\r\n')[0])}: ${received} bytes, the body alone is ${SIZE}`)
  }
  assert.equal(backend.requests.length, 3, 'nothing behind a request that closes the connection went upstream')
})

test('server.fastFront must be a boolean', () => {
  assert.throws(() => resolveConfig({ server: { fastFront: 'yes' }, routes: [{ respond: { status: 200 } }] } as unknown as SwitchyardConfig, 'start'), /server\.fastFront: expected true or false/)
})

test('a balance function that throws a non-Error gets 500 on either front, and the proxy keeps serving', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, { balance: () => { throw null } }) // eslint-disable-line no-throw-literal
  const c = await RawClient.open(proxy.port)
  c.write('GET /fast HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 500)
  c.write('POST /node HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n') // a chunked body: node:http's front
  assert.equal((await c.response()).status, 500)
  c.destroy()
  assert.equal(backend.requests.length, 0)
})

test('server.maxConnections: a connection over the limit is closed at accept and the refusals are logged', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { server: { maxConnections: 2 } })
  const open = [await RawClient.open(proxy.port), await RawClient.open(proxy.port)]
  for (const c of open) {
    c.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n')
    assert.equal((await c.response()).status, 200)
  }
  const third = await RawClient.open(proxy.port)
  third.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n')
  await third.closed
  assert.equal(await third.rest(), '') // closed unanswered
  open[0]!.destroy()
  // Once the proxy has seen that close (a moment after the client's), a new connection is served.
  for (;;) {
    const later = await RawClient.open(proxy.port)
    later.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n')
    const res = await later.response().catch((err: unknown) => {
      if (err instanceof ClosedEarly) return undefined
      throw err
    })
    later.destroy()
    if (res === undefined) continue
    assert.equal(res.status, 200)
    break
  }
  open[1]!.destroy()
  // Reported once a second at most.
  while (!proxy.log.lines.some((l) => l.level === 'warn' && /maxConnections \(2\) reached: \d+ connection/.test(l.message))) {
    await new Promise((r) => setTimeout(r, 50))
  }
})

test('server.maxConnections must be a whole number above 0', () => {
  assert.throws(() => resolveConfig({ server: { maxConnections: 0 }, routes: [{ respond: { status: 200 } }] } as unknown as SwitchyardConfig, 'start'), /server\.maxConnections: expected a whole number above 0/)
})

/** A seeded generator of whole numbers below `n` (mulberry32): the same cases on every run. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = Math.imul(state ^ (state >>> 15), state | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) % n
  }
}

// Pipelines of well-formed requests of every kind, cut into pieces as they come (besides CASES).
const SPLIT_PIPELINES = [
  `GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /status HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /hooked/4 HTTP/1.1\r\nHost: a\r\n\r\nGET /handler HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`,
  `GET /1 HTTP/1.1\r\nHost: a\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`,
  `GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET /4 HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`,
  'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nX: a\x00\r\n\r\n',
]

// The fuzz's requests: well-formed ones built from these parts, and mutated ones (from FUZZ_PIECES).
const FUZZ_METHODS = ['GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS']
const FUZZ_TARGETS = ['/a?x=1', '/hooked/2', '/handler', '/status', '/old/x', 'http://b.example/a', '/a%20b?c=%ff']
const FUZZ_FORWARDED = ['/a?x=1', '/hooked/2', 'http://b.example/a', '/a%20b?c=%ff']
/** Fields a request the proxy serves may carry, wherever it is in a pipeline. */
const FUZZ_FIELDS = [
  'Accept: */*', 'X-A: b', 'X-A: c', 'Cookie: a=1', 'Cookie: b=2', 'Accept-Language: en', 'Connection: keep-alive',
  'X-Empty:', 'X-Pad: \t v \t', 'Content-Length: 0', 'Content-Type: text/plain', 'Content-Type: text/html', 'Forwarded: for=1.2.3.4',
]
/** Fields that make a request refused, handed over, or the last on its connection. */
const FUZZ_RISKY_FIELDS = [
  'Connection: close', 'Expect: 100-continue', 'Expect: 200-ok', 'Transfer-Encoding: gzip', 'Upgrade: h2c\r\nConnection: Upgrade',
  'Connection: x-forwarded-for', 'Host: b', 'Content-Length: 1, 1', 'Transfer-Encoding: chunked\r\nContent-Length: 2',
]
const FUZZ_PIECES = [
  'GET /a?x=1 HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n',
  'HEAD /status HTTP/1.1\r\nHost: a:80\r\nX-A: b\r\n\r\n',
  'GET /hooked/2 HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /handler HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /old/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n',
]
const FUZZ_ATOMS = [
  '\r', '\n', '\r\n', ' ', '\t', '\x00', '\x0b', '\x7f', '\xff', ':', ',', ';', '=', '-', '+', '"', '\\', '/', '?', '#', '%', '@',
  'a', 'A', '0', '1', 'chunked', 'HTTP/1.0', '\r\n ', 'Host: b\r\n', 'Connection: close\r\n', 'Content-Length: 1\r\n',
  'Transfer-Encoding: chunked\r\n', 'Expect: 100-continue\r\n', 'Upgrade: x\r\n',
]
// Requests none of which goes upstream (see fuzzCase).
const FUZZ_FOLLOW_UPS = [
  'GET /status HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /handler HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /old/y HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST /status HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi',
]
const FUZZ_END = 'GET /status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
const FUZZ_CASES = 100

const pick = <T>(list: readonly T[], rnd: (n: number) => number): T => list[rnd(list.length)]!

/** A well-formed request; `risky`: it may also be refused, handed over or close its connection. */
function wellFormed(rnd: (n: number) => number, risky: boolean): string {
  const version = risky && rnd(6) === 0 ? 'HTTP/1.0' : 'HTTP/1.1'
  const target = pick(FUZZ_TARGETS, rnd)
  const lines = [`${pick(FUZZ_METHODS, rnd)} ${target} ${version}`]
  const host = risky ? rnd(8) : 1
  if (host !== 0) lines.push(host === 2 ? 'Host: a\r\nHost: a' : host === 3 ? 'Host: a b' : 'Host: a')
  for (let k = rnd(4); k > 0; k--) lines.push(pick(risky && rnd(2) === 0 ? FUZZ_RISKY_FIELDS : FUZZ_FIELDS, rnd))
  let body = ''
  switch (rnd(4)) {
    case 0: lines.push('Content-Length: 3'); body = 'abc'; break
    // Only where the body is read (sent upstream). An answer to a request with a chunked body
    // nobody read closes the connection if the body was not complete when its head was written
    // (body-guard.ts); node:http runs the handler between parsing the head and the body of the
    // same read when it reads the socket itself, not when it is handed the bytes, so that
    // differs with the front (known, harmless).
    case 1:
      if (!FUZZ_FORWARDED.includes(target)) break
      lines.push('Transfer-Encoding: chunked')
      body = '3\r\nabc\r\n1;x=y\r\nd\r\n0\r\nX-Trailer: 1\r\n\r\n'
  }
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

/** One of FUZZ_PIECES changed at 1–3 seeded places (bytes inserted, removed or overwritten). */
function mutated(rnd: (n: number) => number): string {
  let bytes = pick(FUZZ_PIECES, rnd)
  for (let k = 1 + rnd(3); k > 0; k--) {
    const at = rnd(bytes.length + 1)
    const atom = pick(FUZZ_ATOMS, rnd)
    switch (rnd(3)) {
      case 0: bytes = bytes.slice(0, at) + atom + bytes.slice(at); break
      case 1: bytes = bytes.slice(0, at) + bytes.slice(at + 1 + rnd(3)); break
      default: bytes = bytes.slice(0, at) + atom + bytes.slice(at + 1)
    }
  }
  return bytes
}

/**
 * 0–2 well-formed requests the proxy serves; one that may be refused, handed over, close the
 * connection or be malformed (mutated: only when it comes first); 0–2 requests that never go
 * upstream; one that closes the connection. So what is compared never hangs on timing that
 * differs by chance. (Both fronts now serve pipelined requests one at a time, refuse a body that
 * breaks behind a response in flight at once, and forward nothing behind a closing response:
 * node-path-pipelining.test.ts.)
 */
function fuzzCase(rnd: (n: number) => number): string {
  let bytes = ''
  for (let k = rnd(3); k > 0; k--) bytes += wellFormed(rnd, false)
  bytes += bytes === '' && rnd(2) === 0 ? mutated(rnd) : wellFormed(rnd, true)
  for (let k = rnd(3); k > 0; k--) bytes += pick(FUZZ_FOLLOW_UPS, rnd)
  return bytes + FUZZ_END
}

/** `bytes` cut at 1–2 seeded places: 2–3 writes. */
function splitAt(bytes: string, rnd: (n: number) => number): string[] {
  const cuts = [...new Set([1 + rnd(bytes.length - 1), ...(rnd(2) === 1 ? [1 + rnd(bytes.length - 1)] : [])])].sort((a, b) => a - b)
  return [0, ...cuts].map((from, i) => bytes.slice(from, cuts[i]))
}

test('seeded framing fuzz and TCP splits: the fast front and node:http answer alike and send the same requests upstream', { timeout: 60_000 }, async (t) => {
  // (A response to HEAD without the body: bytes after it would break the upstream connection.)
  const headAware = (req: SeenRequest) => req.line.startsWith('HEAD ') ? req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n') : reply(req)
  const fastBackend = await rawBackend(headAware)
  const nodeBackend = await rawBackend(headAware)
  // Short limits, so that a case leaving a head, a body or a connection open ends soon (408 or a close) on both.
  const server = { headersTimeout: '1s', keepAliveTimeout: '100ms', bodyIdleTimeout: '500ms' } as const
  const fast = await proxyWith(t, fastBackend, true, server)
  const node = await proxyWith(t, nodeBackend, false, server)
  const rnd = seeded(0x5eed)
  const cases: Array<[string, string | string[]]> = CASES.map(([label, bytes]) => [`${label}, split`, splitAt(bytes, rnd)])
  for (const [i, bytes] of SPLIT_PIPELINES.entries()) for (let k = 0; k < 4; k++) cases.push([`pipeline #${i}, split`, splitAt(bytes, rnd)])
  for (let i = 0; i < FUZZ_CASES; i++) {
    const bytes = fuzzCase(rnd)
    cases.push([`fuzz #${i}`, bytes], [`fuzz #${i}, split`, splitAt(bytes, rnd)])
  }
  // (An empty Host is sent on as the backend's own address: each proxy has its own backend.)
  const upstream = (b: RawBackend, from: number) => b.requests.slice(from).map((r) => `${r.head}\n${r.body}`.replace(/127\.0\.0\.1:\d+/g, 'H')).sort()
  for (const [label, bytes] of cases) {
    const before = [fastBackend.requests.length, nodeBackend.requests.length]
    const [viaFast, viaNode] = await Promise.all([roundTrip(fast.port, bytes), roundTrip(node.port, bytes)])
    const what = `${label}: ${JSON.stringify(bytes)}`
    assert.equal(viaFast, viaNode, what)
    assert.deepEqual(upstream(fastBackend, before[0]!), upstream(nodeBackend, before[1]!), `${what}: upstream`)
  }
})

/** A proxy whose routes answer with handler Responses built by `make` (per path). */
async function handlerProxy(t: Parameters<typeof proxyFor>[0], fastFront: boolean, routes: Record<string, () => Response>) {
  const backend = await rawBackend()
  return proxyFor(t, backend, {}, {
    server: { fastFront },
    routes: Object.entries(routes).map(([path, make]) => ({ match: { path }, handle: async () => make() })),
  } as Partial<SwitchyardConfig>)
}

for (const fastFront of [true, false]) {
  const front = fastFront ? 'fast front' : 'node:http'

  test(`${front}: a handler's idle body stream is cancelled when the client leaves`, T, async (t) => {
    let cancelled!: () => void
    const wasCancelled = new Promise<void>((r) => (cancelled = r))
    const proxy = await handlerProxy(t, fastFront, {
      '/idle': () => new Response(new ReadableStream({
        start(c) { c.enqueue(new TextEncoder().encode('first')) }, // then nothing, ever
        cancel() { cancelled() },
      })),
    })
    const c = connect(proxy.port, '127.0.0.1', () => c.write('GET /idle HTTP/1.1\r\nHost: a\r\n\r\n'))
    let got = ''
    await new Promise<void>((resolve) => c.on('data', (d: Buffer) => (got += d.toString('latin1')).includes('first') && resolve()))
    c.destroy()
    await wasCancelled
  })

  test(`${front}: a handler body that is not bytes, or breaks its Content-Length, aborts the connection — or, when nothing was sent yet, gets a clean 500`, T, async (t) => {
    const proxy = await handlerProxy(t, fastFront, {
      '/text': () => new Response(new ReadableStream({ start(c) { c.enqueue('héllo wörld' as unknown as Uint8Array); c.close() } })),
      '/long': () => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('123456789')); c.close() } }), { headers: { 'content-length': '6' } }),
      '/short': () => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('123')); c.close() } }), { headers: { 'content-length': '6' } }),
      '/ctl': () => new Response('x', { headers: { 'x-a': 'a\x7fb' } }),
    })
    // Some of the body went out: the connection is cut.
    const c = await RawClient.open(proxy.port)
    c.write('GET /short HTTP/1.1\r\nHost: a\r\n\r\nGET /short HTTP/1.1\r\nHost: a\r\n\r\n')
    const rest = await c.rest() // the proxy closes the connection
    assert.doesNotMatch(rest, /HTTP\/1\.1 200[\s\S]*HTTP\/1\.1 200/, '/short: a second response after a broken one')
    // The first chunk (or the head) is already wrong: nothing went out, so the client gets a 500
    // and the connection serves on.
    for (const path of ['/text', '/long', '/ctl']) {
      const c = await RawClient.open(proxy.port)
      c.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\nGET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
      for (let i = 0; i < 2; i++) {
        const res = await c.response()
        assert.equal(res.status, 500, path)
        assert.doesNotMatch(res.head + res.body.toString('latin1'), /\x7f|w\xc3\xb6rld|789/, `${path}: bytes that break the framing went out`)
      }
      c.destroy()
    }
  })

  test(`${front}: a request pipelined behind a refused one never reaches the upstream`, T, async (t) => {
    const backend = await rawBackend()
    const proxy = await proxyWith(t, backend, fastFront)
    for (const refused of ['GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'GET /a HTTP/1.1\r\n\r\n', 'TRACE /a HTTP/1.1\r\nHost: a\r\n\r\n']) {
      const c = await RawClient.open(proxy.port)
      c.write(`${refused}DELETE /next HTTP/1.1\r\nHost: a\r\n\r\n`)
      assert.ok((await c.response()).status >= 400)
      await c.closed
    }
    assert.equal(backend.requests.length, 0)
  })

  test(`${front}: requests pipelined behind one without keep-alive never reach the upstream`, T, async (t) => {
    const backend = await rawBackend()
    const proxy = await proxyWith(t, backend, fastFront)
    // A request with a body first, then the one without keep-alive in the same read.
    for (const last of ['GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 'GET /last HTTP/1.0\r\nHost: a\r\n\r\n']) {
      const c = await RawClient.open(proxy.port)
      c.write(`POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx${last}${'DELETE /next HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(3)}`)
      assert.equal((await c.response()).status, 200)
      assert.equal((await c.response()).status, 200)
      await c.closed
    }
    // (node:http forwards the POST and the GET at once: their order upstream is a race.)
    assert.deepEqual(backend.requests.map((r) => r.line.split(' ').slice(0, 2).join(' ')).sort(), ['GET /last', 'GET /last', 'POST /p', 'POST /p'])
  })
}

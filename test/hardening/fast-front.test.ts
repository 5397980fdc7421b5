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

/** Everything the proxy sends back for `bytes`, up to its close. */
function roundTrip(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(Buffer.from(bytes, 'latin1')))
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
  ['absolute-form', `GET http://b.example/x HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['redirect route', `GET /old/page HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  ['respond route', `GET /status HTTP/1.1\r\nHost: a\r\n\r\nHEAD /status HTTP/1.1\r\nHost: a\r\n\r\n${LAST}`],
  // One request per connection: node:http forwards pipelined requests at once (the second one
  // would join the first one's miss), the fast front one at a time.
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

async function proxyWith(t: Parameters<typeof proxyFor>[0], backend: RawBackend, fastFront: boolean) {
  return proxyFor(t, backend, {}, {
    server: { fastFront },
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
    // Sorted: node:http forwards pipelined requests at once, so a hooked one may arrive late.
    const upstream = (b: RawBackend, from: number) => b.requests.slice(from).map((r) => `${r.head}\n${r.body}`).sort()
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

test('server.fastFront must be a boolean', () => {
  assert.throws(() => resolveConfig({ server: { fastFront: 'yes' }, routes: [{ respond: { status: 200 } }] } as unknown as SwitchyardConfig, 'start'), /server\.fastFront: expected true or false/)
})

test('a balance function that throws a non-Error gets 500 on either front, and the proxy keeps serving', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, { balance: () => { throw null } }) // eslint-disable-line no-throw-literal
  const c = await RawClient.open(proxy.port)
  c.write('GET /fast HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 500)
  c.write('POST /node HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx') // a body: node:http's front
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

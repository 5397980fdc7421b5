/** Pool behaviour: keep-alive reuse and its limits, the queue, timeouts, stale connections, close/destroy. */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { UpstreamPool, type UpstreamPoolOptions } from '../../runtime/upstream-client/pool.js'
import { classifyUpstreamError } from '../../runtime/forward/upstream-error.js'
import { outcomeKind } from '../../runtime/forward/retry-rules.js'
import { rawServer, ok, send, failure, Collector, type SeenHead } from './helpers.js'

const T = { timeout: 10_000 }

async function setup(t: TestContext, options: UpstreamPoolOptions, reply: (head: SeenHead) => void = (h) => h.socket.write(ok(h.line.split(' ')[1]))) {
  const server = await rawServer(reply)
  const pool = new UpstreamPool(server.url, options)
  t.after(() => pool.destroy())
  t.after(() => server.close())
  return { server, pool }
}

test('the request head: one write, Host first, connection: keep-alive, framing regenerated', T, async (t) => {
  const { server, pool } = await setup(t, {})
  await send(pool, { path: '/a?b=1', headers: ['X-A', '1', 'Host', 'front.example', 'Content-Length', '9', 'Transfer-Encoding', 'chunked', 'Connection', 'x', 'X-B', 'two'] })
  assert.equal(server.heads[0]!.text, 'GET /a?b=1 HTTP/1.1\r\nhost: front.example\r\nconnection: keep-alive\r\nX-A: 1\r\nX-B: two')
  await send(pool, { method: 'POST', path: '/p' })
  assert.equal(server.heads[1]!.text, `POST /p HTTP/1.1\r\nhost: 127.0.0.1:${server.port}\r\nconnection: keep-alive\r\ncontent-length: 0`)
})

test('a request that cannot be written safely is refused before anything is sent', T, async (t) => {
  const { server, pool } = await setup(t, {})
  for (const request of [
    { headers: ['X-A', 'a\r\nInjected: 1'] }, { headers: ['Bad Name', 'x'] }, { path: '/a b' }, { path: 'http://x/' },
    { method: 'GE T' }, { headers: ['x', '€'] },
  ]) {
    const err = await failure(send(pool, request))
    assert.equal(err.code, 'SWITCHYARD_BAD_UPSTREAM_REQUEST', JSON.stringify(request))
    assert.equal(classifyUpstreamError(err).status, 502)
  }
  assert.equal(server.connections, 0)
})

test('keep-alive: sequential requests share one connection; the most recently used idle connection goes first', T, async (t) => {
  const held: SeenHead[] = []
  const { server, pool } = await setup(t, { connections: 4 }, (h) => (h.line.includes('/hold') ? held.push(h) : h.socket.write(ok(`conn ${h.connection}`))))
  for (let i = 0; i < 5; i++) assert.equal((await send(pool)).body.toString(), 'conn 0')
  assert.equal(server.connections, 1)
  // Two busy at once → two connections; afterwards the one released last is reused first.
  const a = send(pool, { path: '/hold' })
  const b = send(pool, { path: '/hold' })
  await until(() => held.length === 2)
  held[1]!.socket.write(ok('b'))
  await b
  held[0]!.socket.write(ok('a'))
  await a
  const last = held[0]!.connection
  assert.equal((await send(pool)).body.toString(), `conn ${last}`)
  assert.equal(server.connections, 2)
  assert.deepEqual(pool.stats, { connections: 2, idle: 2, queued: 0 })
})

test('idle connections close after keepAliveTimeout; a Keep-Alive hint shortens it (minus 2 s, at most keepAliveMaxTimeout)', T, async (t) => {
  const { server, pool } = await setup(t, { keepAliveTimeout: 50 })
  await send(pool)
  await server.closed(1)
  assert.equal(pool.stats.connections, 0)
  assert.equal((await send(pool)).status, 200)
  assert.equal(server.connections, 2)

  // timeout=100 s, but keepAliveMaxTimeout is 80 ms: closes long before the 60 s default.
  const hinted = await setup(t, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 80 }, (h) => h.socket.write(ok('x', 'keep-alive: timeout=100\r\n')))
  await send(hinted.pool)
  await hinted.server.closed(1)

  // timeout=1: below the 2 s margin → not reused at all.
  const short = await setup(t, { keepAliveTimeout: 60_000 }, (h) => h.socket.write(ok('x', 'Keep-Alive: timeout=1, max=5\r\n')))
  await send(short.pool)
  await send(short.pool)
  assert.equal(short.server.connections, 2)
})

test('maxRequestsPerClient: the last request says connection: close and the connection is not reused', T, async (t) => {
  const { server, pool } = await setup(t, { maxRequestsPerClient: 2 })
  for (let i = 0; i < 5; i++) await send(pool)
  assert.equal(server.connections, 3)
  assert.deepEqual(server.heads.map((h) => h.header('connection')), ['keep-alive', 'close', 'keep-alive', 'close', 'keep-alive'])
})

test('at `connections`, requests queue and run in order as connections free up; abort takes one out of the queue', T, async (t) => {
  const held: SeenHead[] = []
  const { server, pool } = await setup(t, { connections: 1 }, (h) => held.push(h))
  const order: string[] = []
  const requests = ['/1', '/2', '/3', '/4'].map((path) => {
    const c = new Collector()
    const done = send(pool, { path }, c).then((r) => void order.push(r.body.toString()), (e: Error) => void order.push(`${path} ${(e as { code?: string }).code}`))
    return { c, done }
  })
  await until(() => held.length === 1)
  assert.deepEqual(pool.stats, { connections: 1, idle: 0, queued: 3 })
  requests[2]!.c.abort!() // queued: removed at once, onError
  await requests[2]!.done
  assert.deepEqual(order, ['/3 SWITCHYARD_ABORTED'])
  for (let i = 0; i < 3; i++) {
    await until(() => held.length === i + 1)
    const h = held[i]!
    h.socket.write(ok(h.line.split(' ')[1]))
  }
  await Promise.all(requests.map((r) => r.done))
  assert.deepEqual(order, ['/3 SWITCHYARD_ABORTED', '/1', '/2', '/4'])
  assert.equal(server.connections, 1)
})

test('headersTimeout: an upstream that accepts and never answers → SWITCHYARD_HEADERS_TIMEOUT (504, a timeout for retries)', T, async (t) => {
  const { pool } = await setup(t, { headersTimeout: 60 }, () => {})
  const err = await failure(send(pool))
  assert.equal(err.code, 'SWITCHYARD_HEADERS_TIMEOUT')
  assert.deepEqual(classifyUpstreamError(err), { status: 504, reason: 'upstream response header timeout' })
  assert.equal(outcomeKind(err), 'timeout')
})

test('headersTimeout runs once from the request on a new connection (the head written before the connect completed is not "progress" that extends it)', T, async (t) => {
  const { pool } = await setup(t, { headersTimeout: 500 }, () => {})
  const started = performance.now()
  assert.equal((await failure(send(pool))).code, 'SWITCHYARD_HEADERS_TIMEOUT')
  // Extended, it would take 1000 ms or more; the margin is for a loaded machine.
  assert.ok(performance.now() - started < 900, `timed out after ${Math.round(performance.now() - started)} ms`)
})

test('bodyTimeout: a body that stalls → onHeaders, then SWITCHYARD_BODY_TIMEOUT; no timeout while the handler has paused it', T, async (t) => {
  const { pool } = await setup(t, { bodyTimeout: 60 }, (h) => h.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhel'))
  const c = new Collector()
  const err = await failure(send(pool, {}, c))
  assert.equal(err.code, 'SWITCHYARD_BODY_TIMEOUT')
  assert.deepEqual(c.calls, ['connect', 'headers 200', 'error SWITCHYARD_BODY_TIMEOUT'])
  assert.equal(classifyUpstreamError(err).reason, 'upstream body idle timeout')

  // Paused by the handler (a slow client): the upstream is not blamed. There is no event for
  // "nothing happened", so this waits a few timeouts' worth (not a timing assertion).
  let rest!: () => void
  const paused = await setup(t, { bodyTimeout: 40 }, (h) => {
    h.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nabc')
    rest = () => h.socket.write('def')
  })
  const p = new Collector(true)
  const result = send(paused.pool, {}, p)
  await until(() => p.chunks.length === 1)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert.deepEqual(p.calls, ['connect', 'headers 200'])
  rest()
  p.resume!()
  assert.equal((await result).body.toString(), 'abcdef')
})

test('connect errors: ECONNREFUSED (a connect-error for retries)', T, async (t) => {
  const probe = createNetServer()
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((r) => probe.close(() => r()))
  const pool = new UpstreamPool(`http://127.0.0.1:${port}`)
  t.after(() => pool.destroy())
  const err = await failure(send(pool))
  assert.equal(err.code, 'ECONNREFUSED')
  assert.equal(outcomeKind(err), 'connect-error')
  assert.equal(pool.stats.connections, 0)
})

test('stale keep-alive connection: closed by the server as a request arrives → sent again on a fresh connection (idempotent, replayable bodies only)', T, async (t) => {
  // The server answers the first request on each connection and drops the connection on the
  // second one without a byte: what a server closing an idle connection looks like to a client
  // whose request crossed the close.
  const { server, pool } = await setup(t, {}, (h) => (h.index === 0 ? h.socket.write(ok(`conn ${h.connection}`)) : h.socket.destroy()))
  assert.equal((await send(pool)).body.toString(), 'conn 0')
  assert.equal((await send(pool)).body.toString(), 'conn 1', 'GET retried transparently')
  assert.equal((await send(pool, { method: 'PUT', body: Buffer.from('x') })).body.toString(), 'conn 2', 'PUT with a Buffer body too')
  assert.equal(server.connections, 3)
  // Not retried: a non-idempotent method, or a body that was streamed.
  const post = await failure(send(pool, { method: 'POST', body: Buffer.from('x') }))
  assert.match(post.code, /^(SWITCHYARD_UPSTREAM_CLOSED|ECONNRESET|EPIPE)$/)
  await send(pool) // conn 3, first request
  const { Readable } = await import('node:stream')
  const streamed = await failure(send(pool, { method: 'PUT', body: Readable.from([Buffer.from('x')]) }))
  assert.match(streamed.code, /^(SWITCHYARD_UPSTREAM_CLOSED|ECONNRESET|EPIPE)$/)
  // Retried once only: a fresh connection that fails too is an error.
  const always = await setup(t, {}, (h) => (h.connection === 0 && h.index === 0 ? h.socket.write(ok()) : h.socket.destroy()))
  await send(always.pool)
  assert.match((await failure(send(always.pool))).code, /^(SWITCHYARD_UPSTREAM_CLOSED|ECONNRESET|EPIPE)$/)
  assert.equal(always.server.connections, 2)
})

test('close() lets in-flight and queued requests finish, then closes every socket; destroy() fails them', T, async (t) => {
  const held: SeenHead[] = []
  const { server, pool } = await setup(t, { connections: 1 }, (h) => held.push(h))
  const first = send(pool, { path: '/1' })
  const second = send(pool, { path: '/2' })
  await until(() => held.length === 1)
  let closed = false
  const closing = pool.close().then(() => void (closed = true))
  assert.equal((await failure(send(pool))).code, 'SWITCHYARD_POOL_CLOSED')
  held[0]!.socket.write(ok('one'))
  assert.equal((await first).body.toString(), 'one')
  await until(() => held.length === 2)
  assert.equal(closed, false)
  held[1]!.socket.write(ok('two'))
  assert.equal((await second).body.toString(), 'two')
  await closing
  assert.deepEqual(pool.stats, { connections: 0, idle: 0, queued: 0 })
  await server.closed(server.connections) // and the server sees every one closed

  const d = await setup(t, { connections: 1 }, () => {})
  const inflight = send(d.pool)
  const queued = send(d.pool)
  await until(() => d.server.heads.length === 1)
  await d.pool.destroy()
  assert.equal((await failure(inflight)).code, 'SWITCHYARD_POOL_CLOSED')
  assert.equal((await failure(queued)).code, 'SWITCHYARD_POOL_CLOSED')
  await d.server.closed(1)
})

test('an idle pool does not keep the process alive (its sockets are unref\'d while idle)', T, async (t) => {
  let held: SeenHead | undefined
  const { server, pool } = await setup(t, {}, (h) => (held = h))
  // process._getActiveHandles() lists only handles that keep the event loop alive.
  const refed = () => (process as unknown as { _getActiveHandles(): Array<{ constructor: { name: string }; remotePort?: number }> })
    ._getActiveHandles().filter((h) => h.constructor.name === 'Socket' && h.remotePort === server.port).length
  const result = send(pool)
  await until(() => held !== undefined)
  assert.equal(refed(), 1, 'in flight: keeps the process alive')
  held!.socket.write(ok())
  await result
  assert.deepEqual(pool.stats, { connections: 1, idle: 1, queued: 0 })
  assert.equal(refed(), 0, 'idle: does not')
})

/** Resolves once `check` holds, re-checking after each turn of the event loop. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve))
}


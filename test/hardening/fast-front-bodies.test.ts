/**
 * Request bodies on the fast front (runtime/adapters/node/fast-front.ts): a Content-Length body
 * is counted and streamed there, and the connection stays on the fast front for what follows
 * (a chunked body or `Expect` still hands it to node:http). The parity corpus and the framing
 * fuzz in fast-front.test.ts compare these requests with node:http's answers byte for byte;
 * these tests check what a comparison cannot: which front served, backpressure, and what
 * happens to a body still arriving when its response is done.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { Socket } from 'node:net'
import { RawClient, rawBackend, proxyFor, until } from './helpers.js'
import { startBackend, startProxy } from '../helpers/servers.js'

const T = { timeout: 15_000 }

/** The proxy's side of `client`'s connection (the proxy runs in this process). */
function proxySide(client: RawClient): Socket {
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles()
  const found = handles.find((h): h is Socket => h instanceof Socket && h.remotePort === client.socket.localPort && h.localPort === client.socket.remotePort)
  assert.ok(found, 'the proxy side of the connection')
  return found
}

/** node:http marks every socket it reads with its parser. */
function servedByNodeHttp(socket: Socket): boolean {
  return (socket as Socket & { parser?: unknown }).parser != null
}

test('Content-Length bodies are served on the fast front, pipelined with bodiless requests, in order and intact', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend)
  const c = await RawClient.open(proxy.port)
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'
  c.write(
    `POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
    'GET /2 HTTP/1.1\r\nHost: a\r\n\r\n' +
    'PUT /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
    'DELETE /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n',
  )
  for (const line of ['POST /1', 'GET /2', 'PUT /3', 'DELETE /4']) assert.equal((await c.response()).body.toString(), `${line} HTTP/1.1`)
  // One body split over many small writes, each its own read.
  c.write('POST /5 HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n')
  for (const piece of ['ab', 'cd', 'ef', 'gh', 'ij']) {
    const before = backend.received.length
    c.write(piece)
    if (piece !== 'ij') await until(() => proxySide(c).bytesRead > 0 && backend.received.length > before)
  }
  assert.equal((await c.response()).body.toString(), 'POST /5 HTTP/1.1')
  assert.equal(servedByNodeHttp(proxySide(c)), false, 'the connection was handed to node:http')
  c.destroy()
  assert.deepEqual(backend.requests.map((r) => [r.line, r.body]), [
    ['POST /1 HTTP/1.1', smuggled], ['GET /2 HTTP/1.1', ''], ['PUT /3 HTTP/1.1', 'hello'], ['DELETE /4 HTTP/1.1', ''], ['POST /5 HTTP/1.1', 'abcdefghij'],
  ])
})

test('a chunked body still hands the connection to node:http, which serves the rest of it', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend)
  const c = await RawClient.open(proxy.port)
  c.write('POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx')
  await c.response()
  assert.equal(servedByNodeHttp(proxySide(c)), false)
  c.write('POST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\ny\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).body.toString(), 'POST /2 HTTP/1.1')
  assert.equal((await c.response()).body.toString(), 'GET /3 HTTP/1.1')
  assert.equal(servedByNodeHttp(proxySide(c)), true)
  c.destroy()
})

test('a large upload to a slow upstream: the client is paused while the upstream is behind, and the body arrives whole', T, async (t) => {
  const size = 8 << 20
  let paused = false
  let digest = ''
  const backend = await startBackend((req, res) => {
    const hash = createHash('sha256')
    req.pause()
    // Reads a little, then only once the proxy has stopped reading its client.
    const readSome = (): void => {
      const chunk = req.read() as Buffer | null
      if (chunk !== null) hash.update(chunk)
      if (!paused) return void setImmediate(readSome)
      req.on('data', (d: Buffer) => hash.update(d))
      req.on('end', () => {
        digest = hash.digest('hex')
        res.end('ok')
      })
      req.resume()
    }
    readSome()
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  const body = Buffer.alloc(size)
  for (let i = 0; i < size; i++) body[i] = (i * 7) & 0xff
  const c = await RawClient.open(proxy.port)
  c.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${size}\r\n\r\n`)
  c.write(body)
  const side = proxySide(c)
  await until(() => side.isPaused())
  paused = true
  const res = await c.response()
  assert.equal(res.status, 200)
  assert.equal(digest, createHash('sha256').update(body).digest('hex'))
  c.destroy()
})

test('answered before its body arrived: a small rest is read and dropped and the connection kept; a large one closes it', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, { routes: [{ match: { path: '/early' }, respond: { status: 200, body: 'early' } }] } as never)
  const c = await RawClient.open(proxy.port)
  c.write('POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100))
  const early = await c.response()
  assert.equal(early.body.toString(), 'early')
  assert.doesNotMatch(early.head, /connection: close/i)
  // The rest of the body, with a request inside it (never served), then the next request.
  c.write(`${'GET /inside HTTP/1.1\r\nHost: a\r\n\r\n'.padEnd(900, 'y')}GET /next HTTP/1.1\r\nHost: a\r\n\r\n`)
  assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1')
  assert.deepEqual(backend.requests.map((r) => r.line), ['GET /next HTTP/1.1'])
  c.destroy()

  const big = await RawClient.open(proxy.port)
  big.write('POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n' + 'x'.repeat(100))
  const closing = await big.response()
  assert.equal(closing.body.toString(), 'early')
  assert.match(closing.head, /connection: close/i)
  await big.closed
})

test('a client that leaves mid-body: readers get node:http\'s aborted error, the upstream exchange is aborted, the proxy serves on', T, async (t) => {
  let upstreamReading!: () => void
  const reading = new Promise<void>((r) => (upstreamReading = r))
  let upstreamAborted!: () => void
  const aborted = new Promise<void>((r) => (upstreamAborted = r))
  let handlerError: unknown
  const backend = await startBackend((req, res) => {
    if (req.url === '/ok') return void res.end('ok')
    req.once('data', () => upstreamReading())
    req.on('close', () => { if (!req.complete) upstreamAborted() })
  })
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      { match: { path: '/handler' }, handle: async (req: Request) => { try { await req.arrayBuffer() } catch (err) { handlerError = err } return new Response('x') } },
      { to: 'b' },
    ],
  })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  const c = await RawClient.open(proxy.port)
  c.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000))
  await reading
  c.destroy()
  await aborted
  const h = await RawClient.open(proxy.port)
  h.write('POST /handler HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000))
  await until(() => proxySide(h).bytesRead > 1000)
  h.destroy()
  await until(() => handlerError !== undefined)
  assert.match(String(handlerError), /aborted|terminated/)
  const after = await RawClient.open(proxy.port)
  after.write('GET /ok HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await after.response()).body.toString(), 'ok')
  after.destroy()
})

test('answered, its body still to come: a client that stops sending it is disconnected after the keep-alive timeout, as node:http does', T, async (t) => {
  const backend = await rawBackend()
  const proxy = await proxyFor(t, backend, {}, {
    server: { keepAliveTimeout: '1s', bodyIdleTimeout: 0 },
    routes: [{ match: { path: '/early' }, respond: { status: 200, body: 'early' } }],
  } as never)
  const c = await RawClient.open(proxy.port)
  c.write('POST /early HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n' + 'x'.repeat(1000))
  const res = await c.response()
  assert.equal(res.body.toString(), 'early')
  assert.doesNotMatch(res.head, /connection: close/i)
  c.write('x'.repeat(1000)) // some more of it, then nothing (bodyIdleTimeout is off: only the keep-alive clock is left)
  await c.closed // (the test's own timeout is the guard)
})

// The request body guard (runtime/body-guard.ts): server.bodyIdleTimeout (408 for a client that
// stalls mid-body) and ctx.setBodyLimit / bodyLimit (413 for chunked bodies), the same on
// forwarded, handler and respond routes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket, type AddressInfo } from 'node:net'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import { startBackend, startProxy, http, type TestProxy } from '../helpers/servers.js'
import { BodyGuard, expectContinue, DISCARD_MAX } from '../../runtime/body-guard.js'
import type { RequestContext } from '../../runtime/context.js'
import { silentLog } from '../../runtime/log.js'
import { chunkedRequest } from '../middleware/e2e-helpers.js'
import { bodyLimit } from '../../src/middleware/index.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { configProblems } from '../helpers/config-problems.js'

/** Opens a connection, writes `head` + `partial`, and keeps it open (the client "stalls"). */
function stalledUpload(port: number, head: string, partial: string): { socket: Socket; received: Promise<string> } {
  const socket = connect(port, '127.0.0.1', () => socket.write(head + partial))
  const chunks: Buffer[] = []
  const received = new Promise<string>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)))
  })
  return { socket, received }
}

const post = (path: string, length: number) => `POST ${path} HTTP/1.1\r\nHost: test\r\nContent-Length: ${length}\r\n\r\n`
const chunkedHead = (path: string) => `POST ${path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n`

function lastWarn(proxy: TestProxy): string | undefined {
  return proxy.log.lines.filter((l) => l.level === 'warn').at(-1)?.message
}

test('server.bodyIdleTimeout: a client that stops mid-body gets 408 (forwarded, handler) or its connection closed (already answered)', async (t) => {
  const upstream: string[] = []
  const backend = await startBackend((req, res) => {
    upstream.push(req.url!)
    req.on('error', () => {})
    req.resume()
    req.on('end', () => res.end('complete'))
  })
  let handlerError: unknown
  const proxy = await startProxy({
    server: { bodyIdleTimeout: 150 },
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/fwd' }, to: 'api' },
      { match: { path: '/hooked' }, to: 'api', hooks: { onRequest: () => {} } },
      { match: { path: '/handler' }, handle: async (req) => { try { return new Response(await req.text()) } catch (err) { handlerError = err; throw err } } },
      { match: { path: '/respond' }, respond: { body: 'fixed' } },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())

  for (const path of ['/fwd', '/hooked', '/handler']) {
    const { received } = stalledUpload(proxy.port, post(path, 100), 'x'.repeat(10))
    const reply = await received
    assert.match(reply, /^HTTP\/1\.1 408 /, path)
    assert.match(reply, /connection: close/i, path)
    assert.match(lastWarn(proxy) ?? '', /request refused \(408\): client sent no request body data for 150 ms/, path)
  }
  assert.equal((handlerError as Error)?.name, 'RequestBodyError')
  assert.ok(!proxy.log.lines.some((l) => /handler threw/.test(l.message)), 'a refused body is not reported as a handler failure')
  await waitFor(() => proxy.log.accesses.length >= 3)
  assert.ok(proxy.log.accesses.every((a) => a.status === 408 && /no request body data/.test(a.error ?? '')), JSON.stringify(proxy.log.accesses))

  // A respond route answers at once, keeping the connection (the small rest is discarded); the
  // unread body then stalls: the connection is closed, quietly — the request was answered.
  const before = proxy.log.lines.length
  const { received } = stalledUpload(proxy.port, post('/respond', 100), 'x'.repeat(10))
  const reply = await received
  assert.match(reply, /^HTTP\/1\.1 200 [\s\S]*connection: keep-alive[\s\S]*fixed$/i)
  const since = proxy.log.lines.slice(before)
  assert.deepEqual(since.filter((l) => l.level !== 'info'), [], 'no 408 for an answered request')
  assert.ok(since.some((l) => /connection closed: no request body data for 150 ms after the request was answered/.test(l.message)), JSON.stringify(since))
  await waitFor(() => proxy.log.accesses.some((a) => a.target === '/respond'))
  const answered = proxy.log.accesses.find((a) => a.target === '/respond')!
  assert.deepEqual([answered.status, answered.error], [200, undefined])

  // A complete upload is untouched, and the proxy keeps serving.
  assert.equal((await http(`${proxy.url}/fwd`, { method: 'POST', body: 'abc' })).body.toString(), 'complete')
  assert.equal((await chunkedRequest(`${proxy.url}/handler`, [Buffer.from('a'), Buffer.from('b')])).body.toString(), 'ab')
})

test('server.bodyIdleTimeout: a chunked upload that stalls after some chunks, and 0 turns the timeout off', async (t) => {
  const proxy = await startProxy({
    server: { bodyIdleTimeout: '100ms' },
    routes: [{ handle: async (req) => new Response(String((await req.arrayBuffer()).byteLength)) }],
  })
  t.after(() => proxy.close())
  const { received } = stalledUpload(proxy.port, chunkedHead('/up'), '5\r\nhello\r\n')
  assert.match(await received, /^HTTP\/1\.1 408 /)

  const off = await startProxy({ server: { bodyIdleTimeout: 0 }, routes: [{ handle: async (req) => new Response(await req.text()) }] })
  t.after(() => off.close())
  const s = stalledUpload(off.port, post('/up', 4), 'ab')
  // Without a timeout nothing happens until the client sends the rest.
  await new Promise((r) => setImmediate(r))
  s.socket.write('cd')
  s.socket.end()
  assert.match(await s.received, /^HTTP\/1\.1 200 [\s\S]*\r\nabcd\r\n/)
})

test('server.bodyIdleTimeout only counts while the proxy reads: a slow upstream does not trip it', async (t) => {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let reqAtBackend!: IncomingMessage
  let arrived!: () => void
  const atBackend = new Promise<void>((r) => (arrived = r))
  const backend = await startBackend(async (req, res) => {
    reqAtBackend = req
    req.pause() // the upstream reads nothing until released: the proxy's buffers fill up
    arrived()
    await released
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => res.end(String(n)))
    req.resume()
  })
  const proxy = await startProxy({ server: { bodyIdleTimeout: 100 }, upstreams: { api: { servers: [backend.url] } }, routes: [{ to: 'api' }] })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const size = 8 * 1024 * 1024
  const response = http(`${proxy.url}/big`, { method: 'POST', body: Buffer.alloc(size) })
  await atBackend
  // Wait (well past the idle timeout) until every buffer on the way is full and nothing moves.
  let last = -1
  for (let still = 0; still < 4;) {
    await new Promise((r) => setTimeout(r, 100))
    const now = reqAtBackend.socket.bytesRead
    still = now === last ? still + 1 : 0
    last = now
  }
  release()
  const res = await response
  assert.deepEqual([res.status, res.body.toString()], [200, String(size)])
  assert.ok(!proxy.log.lines.some((l) => /request refused/.test(l.message)))
})

test('bodyLimit: chunked bodies get 413 on handler routes too, before the whole body is buffered', async (t) => {
  let handlerSaw = -1
  const proxy = await startProxy({
    routes: [
      {
        match: { path: '/upload' },
        use: [bodyLimit({ max: '16kb' })],
        handle: async (req) => {
          const body = await req.arrayBuffer()
          handlerSaw = body.byteLength
          return new Response(`got ${body.byteLength}`)
        },
      },
      {
        // Starts answering before it reads the body: past the limit the connection is cut.
        match: { path: '/stream' },
        use: [bodyLimit({ max: '16kb' })],
        handle: (req) => {
          const reader = req.body!.getReader()
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { done, value } = await reader.read()
              if (done) controller.close()
              else controller.enqueue(new TextEncoder().encode(`${value.byteLength}\n`))
            },
          })
          return new Response(body)
        },
      },
    ],
  })
  t.after(() => proxy.close())
  const small = await chunkedRequest(`${proxy.url}/upload`, [Buffer.alloc(1000), Buffer.alloc(1000)])
  assert.deepEqual([small.status, small.body.toString()], [200, 'got 2000'])
  const big = await chunkedRequest(`${proxy.url}/upload`, Array.from({ length: 64 }, () => Buffer.alloc(4 * 1024)))
  assert.equal(big.status, 413)
  assert.equal(big.headers.connection, 'close')
  assert.equal(handlerSaw, 2000, 'the handler never got the oversized body')
  await waitFor(() => proxy.log.accesses.length >= 2)
  assert.match(proxy.log.accesses[1]!.error ?? '', /request body larger than 16384 bytes/)

  // Response already started: the client sees the connection end before a complete response.
  await assert.rejects(chunkedRequest(`${proxy.url}/stream`, Array.from({ length: 64 }, () => Buffer.alloc(4 * 1024))).then((r) => {
    throw Object.assign(new Error(`completed with ${r.status}`), { completed: true })
  }), (err: Error & { completed?: boolean; code?: string }) => !err.completed)
  // The proxy keeps serving.
  assert.equal((await chunkedRequest(`${proxy.url}/upload`, [Buffer.alloc(10)])).status, 200)
})

test('ctx.setBodyLimit from a hook, with the idle timeout off: forwarded chunked bodies past it get 413 too', async (t) => {
  let received = 0
  const backend = await startBackend((req, res) => {
    req.on('data', (c: Buffer) => (received += c.length))
    req.on('end', () => res.end(`got ${received}`))
    req.on('error', () => {})
  })
  const proxy = await startProxy({
    server: { bodyIdleTimeout: 0 },
    upstreams: { api: { servers: [backend.url] } },
    routes: [{ to: 'api', hooks: { onRequest: (ctx) => { ctx.setBodyLimit(32 * 1024); ctx.setBodyLimit(64 * 1024) } } }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const big = await chunkedRequest(`${proxy.url}/up`, Array.from({ length: 40 }, () => Buffer.alloc(4 * 1024)))
  assert.equal(big.status, 413)
  assert.ok(received <= 32 * 1024, `upstream got ${received} bytes (the smaller limit wins)`)
  assert.match(lastWarn(proxy) ?? '', /request refused \(413\): request body larger than 32768 bytes/)
  received = 0
  assert.equal((await chunkedRequest(`${proxy.url}/up`, [Buffer.alloc(1000)])).body.toString(), 'got 1000')
})

test('ctx.setBodyLimit on a small Content-Length body that came whole with its head: 413 past the limit, forwarded within it (both fronts)', async (t) => {
  const got: string[] = []
  const backend = await startBackend((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      got.push(body)
      res.end(`got ${body.length}`)
    })
  })
  t.after(() => backend.close())
  for (const fastFront of [true, false]) {
    const proxy = await startProxy({
      server: { fastFront },
      upstreams: { api: { servers: [backend.url] } },
      routes: [{ to: 'api', hooks: { onRequest: (ctx) => { ctx.setBodyLimit(Number(ctx.headers.get('x-limit') ?? 1000)) } } }],
    })
    const refused = await http(`${proxy.url}/up`, { method: 'POST', body: 'a'.repeat(512), headers: { 'x-limit': '100' } })
    assert.equal(refused.status, 413, `fastFront ${fastFront}`)
    assert.match(lastWarn(proxy) ?? '', /request refused \(413\): request body larger than 100 bytes/)
    const kept = await http(`${proxy.url}/up`, { method: 'POST', body: 'b'.repeat(512) })
    assert.equal(kept.body.toString(), 'got 512', `fastFront ${fastFront}`)
    await proxy.close()
  }
  assert.deepEqual(got, ['b'.repeat(512), 'b'.repeat(512)], 'the refused bodies never reached the upstream')
})

test('server.bodyIdleTimeout is validated', () => {
  assert.match(configProblems({ server: { bodyIdleTimeout: 'soon' }, routes: [] }), /server\.bodyIdleTimeout: expected a duration/)
  assert.equal(resolveConfig({ routes: [] }, 'start').server.bodyIdleTimeout, 60_000)
  assert.equal(resolveConfig({ server: { bodyIdleTimeout: '5s' }, routes: [] }, 'start').server.bodyIdleTimeout, 5000)
})

test('server.bodyIdleTimeout: an answered request whose unread body keeps arriving is not timed out; the connection serves the next request', { timeout: 10_000 }, async (t) => {
  const proxy = await startProxy({ server: { bodyIdleTimeout: 400 }, routes: [{ respond: { body: 'ok' } }] })
  t.after(() => proxy.close())
  const c = await rawClient(proxy.port)
  t.after(() => c.socket.destroy())
  c.socket.write(`${post('/first', 40)}x`)
  await c.until(/^HTTP\/1\.1 200 [^]*\r\n\r\nok$/) // answered without reading the body: Node discards it
  // The client is slow but never idle: a byte every 20 ms, ~0.8 s in all (twice the idle timeout).
  for (let i = 0; i < 39; i++) {
    await delay(20)
    c.socket.write('x')
  }
  c.socket.write('GET /next HTTP/1.1\r\nHost: test\r\n\r\n')
  await c.until(/ok[^]*HTTP\/1\.1 200 [^]*\r\n\r\nok$/)
  assert.equal(c.socket.readableEnded, false, 'the connection is still open')
  assert.deepEqual(proxy.log.lines, [], 'no 408 warning for a request answered 200')
  await waitFor(() => proxy.log.accesses.length === 2)
  assert.deepEqual(proxy.log.accesses.map((a) => [a.target, a.status, a.error]), [['/first', 200, undefined], ['/next', 200, undefined]])
})

test('an answer sent before a large or unknown request body was read closes the connection; a small rest is discarded and the connection kept', { timeout: 10_000 }, async (t) => {
  const proxy = await startProxy({
    routes: [
      { match: { path: '/limited' }, use: [bodyLimit({ max: '1kb' })], respond: { body: 'never' } },
      { respond: { body: 'ok' } },
    ],
  })
  t.after(() => proxy.close())
  // 50 MB declared, 1 KB sent: bodyLimit answers 413 from Content-Length, and the connection
  // closes at once instead of reading and dropping 50 MB.
  const cases: Array<[string, RegExp]> = [
    [`${post('/limited', 50 * 1024 * 1024)}${'x'.repeat(1024)}`, /^HTTP\/1\.1 413 /],
    [post('/limited', 2048), /^HTTP\/1\.1 413 /], // small, but bodyLimit's Response says Connection: close
    [post('/any', DISCARD_MAX + 100), /^HTTP\/1\.1 200 /], // a route that never reads, over the discard limit
    [chunkedHead('/any'), /^HTTP\/1\.1 200 /], // unknown length
  ]
  for (const [bytes, status] of cases) {
    const c = await rawClient(proxy.port)
    t.after(() => c.socket.destroy()) // half-open (allowHalfOpen) after the proxy's FIN until destroyed
    c.socket.write(bytes)
    await c.closed
    assert.match(c.text(), status, bytes.slice(0, 30))
    assert.match(c.text(), /\r\nconnection: close\r\n/i, bytes.slice(0, 30))
  }
  // 10 KB declared, 100 B sent before the answer: kept alive, the rest discarded, the next request served.
  const small = await rawClient(proxy.port)
  t.after(() => small.socket.destroy())
  small.socket.write(`${post('/any', 10 * 1024)}${'x'.repeat(100)}`)
  await small.until(/^HTTP\/1\.1 200 [^]*\r\n\r\nok$/)
  assert.match(small.text(), /\r\nconnection: keep-alive\r\n/i)
  small.socket.write(`${'x'.repeat(10 * 1024 - 100)}GET /next HTTP/1.1\r\nHost: test\r\n\r\n`)
  await small.until(/ok[^]*HTTP\/1\.1 200 [^]*\r\n\r\nok$/)
})

test('Expect: 100-continue is sent when the body is first read: a request refused before that gets its final status alone', { timeout: 10_000 }, async (t) => {
  const backend = await startBackend((req, res) => {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => res.end(`upstream got ${n}`))
  })
  const proxy = await startProxy({
    upstreams: { api: { servers: [backend.url] } },
    routes: [
      { match: { path: '/limited' }, use: [bodyLimit({ max: '1kb' })], to: 'api' },
      { match: { path: '/auth' }, hooks: { onRequest: () => new Response('who are you?', { status: 401 }) }, to: 'api' },
      { match: { path: '/handler' }, handle: async (req) => new Response(`handler got ${(await req.text()).length}`) },
      { to: 'api' },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const expecting = (path: string, length: number) => `PUT ${path} HTTP/1.1\r\nHost: test\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`
  for (const [path, status] of [['/limited', 413], ['/auth', 401]] as const) {
    const c = await rawClient(proxy.port)
    t.after(() => c.socket.destroy()) // half-open (allowHalfOpen) after the proxy's FIN until destroyed
    c.socket.write(expecting(path, 10_000))
    await c.closed // a final status instead of 100: the client may send the body anyway, so the connection ends
    assert.match(c.text(), new RegExp(`^HTTP/1\\.1 ${status} `), path)
    assert.doesNotMatch(c.text(), /100 Continue/, path)
  }
  for (const [path, answer] of [['/handler', 'handler got 5'], ['/fwd', 'upstream got 5']]) {
    const c = await rawClient(proxy.port)
    t.after(() => c.socket.destroy())
    c.socket.write(expecting(path, 5))
    await c.until(/^HTTP\/1\.1 100 Continue\r\n\r\n$/)
    c.socket.write('hello')
    await c.until(new RegExp(`^HTTP/1\\.1 100 Continue\\r\\n\\r\\nHTTP/1\\.1 200 [^]*${answer}`))
  }
})

test('after a 413 the connection is closed even when the client keeps sending and never reads the answer', { timeout: 10_000 }, async (t) => {
  const proxy = await startProxy({ routes: [{ use: [bodyLimit({ max: '1kb' })], handle: async (req) => new Response(await req.text()) }] })
  t.after(() => proxy.close())
  const c = await rawClient(proxy.port)
  c.socket.pause() // never reads
  c.socket.write(chunkedHead('/up'))
  const chunk = `1000\r\n${'a'.repeat(4096)}\r\n`
  let sent = 0
  while (!c.socket.destroyed && !c.socket.writableEnded) {
    sent += chunk.length
    if (!c.socket.write(chunk)) await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed])
  }
  await c.closed
  assert.ok(sent < 64 * 1024 * 1024, `the proxy stopped taking the body (${sent} bytes sent)`)
  assert.match(lastWarn(proxy) ?? '', /request refused \(413\)/)
})

test('Node internals the body guard relies on (if this fails, runtime/body-guard.ts needs a new hook for this Node version)', { timeout: 10_000 }, async (t) => {
  // A bare node:http server with a BodyGuard on each request, as the runtime installs it.
  const guards: BodyGuard[] = []
  let onRequest: (req: IncomingMessage, res: ServerResponse, guard: BodyGuard) => void = () => {}
  const server = createServer((req, res) => {
    const ctx = { req, res, generation: { log: silentLog }, method: req.method, target: req.url, clientIp: '', status: 0 } as unknown as RequestContext
    const guard = new BodyGuard(ctx, 0)
    guards.push(guard)
    onRequest(req, res, guard)
  })
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    expectContinue(req)
    server.emit('request', req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => server.close())
  const port = (server.address() as AddressInfo).port

  // 1. The parser hands body bytes to the request's own `push`, and `_read` (called by a reader)
  // restarts a socket stopped by backpressure: a 1 MB body read slowly arrives whole and counted.
  onRequest = (req, res, guard) => {
    let n = 0
    req.on('data', (c: Buffer) => {
      n += c.length
      req.pause()
      setImmediate(() => req.resume())
    })
    req.on('end', () => res.end(`${n} ${guard.bytes}`))
  }
  const size = 1024 * 1024
  const read = await http(`http://127.0.0.1:${port}/`, { method: 'POST', body: Buffer.alloc(size) })
  assert.equal(read.body.toString(), `${size} ${size}`, 'the per-instance push saw every body byte (Node parser → req.push)')

  // 2. `_read` is only called by a reader: 100 Continue goes out when the handler starts reading.
  let reading!: () => void
  const readingStarted = new Promise<void>((r) => (reading = r))
  onRequest = (req, res) => {
    setImmediate(() => {
      reading()
      let n = 0
      req.on('data', (c: Buffer) => (n += c.length))
      req.on('end', () => res.end(String(n)))
    })
  }
  const c = await rawClient(port)
  t.after(() => c.socket.destroy())
  c.socket.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
  await readingStarted
  await c.until(/^HTTP\/1\.1 100 Continue\r\n\r\n$/)
  c.socket.write('hello')
  await c.until(/HTTP\/1\.1 200 [^]*\r\n\r\n5$/)

  // 3. Answered without reading: Node marks the request `_dumped` and its parser stops calling
  // push for the rest (the guard's count stays), yet still ends the request (push(null)).
  let dumped!: (req: IncomingMessage, guard: BodyGuard) => void
  const gotDumped = new Promise<[IncomingMessage, BodyGuard]>((r) => (dumped = (req, guard) => r([req, guard])))
  onRequest = (req, res, guard) => {
    res.end('early')
    res.once('finish', () => dumped(req, guard))
  }
  const d = await rawClient(port)
  t.after(() => d.socket.destroy())
  d.socket.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nxyz')
  const [req, guard] = await gotDumped
  await d.until(/early$/)
  assert.equal((req as IncomingMessage & { _dumped?: boolean })._dumped, true, 'Node marks an unread body as dumped')
  const before = guard.bytes
  const ended = new Promise<void>((r) => req.once('end', r))
  d.socket.write('x'.repeat(1000 - 3))
  await ended
  assert.equal(guard.bytes, before, 'dumped bytes do not go through push')
  assert.equal(req.complete, true)

  // 4. An implicit head (res.end() alone) goes through the response's own writeHead: the guard
  // closes a connection with a large unread rest. And a final status while 100 Continue was not
  // sent turns keep-alive off (Node).
  onRequest = (_req, res) => void res.end('early')
  for (const head of [`POST / HTTP/1.1\r\nHost: test\r\nContent-Length: ${DISCARD_MAX + 1}\r\n\r\n`, 'POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n']) {
    const e = await rawClient(port)
    t.after(() => e.socket.destroy()) // half-open (allowHalfOpen) after the proxy's FIN until destroyed
    e.socket.write(head)
    await e.closed
    assert.match(e.text(), /^HTTP\/1\.1 200 OK\r\n[^]*Connection: close\r\n[^]*early$/, head)
  }
})

/** A raw connection: everything received as text, `until` a pattern, `closed` when the proxy ends it. */
async function rawClient(port: number): Promise<{ socket: Socket; text(): string; until(re: RegExp): Promise<void>; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  let received = ''
  const waiters = new Set<() => void>()
  socket.on('data', (d: Buffer) => {
    received += d.toString('latin1')
    for (const w of waiters) w()
  })
  socket.on('error', () => {}) // a reset after the answer: `closed` covers it
  const closed = new Promise<void>((resolve) => {
    socket.once('end', () => resolve())
    socket.once('close', () => resolve())
  })
  void closed.then(() => {
    for (const w of waiters) w()
  })
  await new Promise<void>((r) => socket.once('connect', () => r()))
  let isClosed = false
  void closed.then(() => (isClosed = true))
  return {
    socket,
    text: () => received,
    closed,
    until: (re) => new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (re.test(received)) {
          waiters.delete(check)
          resolve()
        } else if (isClosed) {
          waiters.delete(check)
          reject(new Error(`connection closed before ${re}; received ${JSON.stringify(received)}`))
        }
      }
      waiters.add(check)
      check()
    }),
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

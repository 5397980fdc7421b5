import { test } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { once } from 'node:events'
import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { startBackend, startProxy, http, rawRequest, readUntilEndOrAbort } from '../helpers/servers.js'

/** A port that refuses connections: bound once by us, then closed. */
async function closedPort(): Promise<number> {
  const s = createNetServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

test('upstream refusing connections → 502, logged with route, server and reason', async (t) => {
  const port = await closedPort()
  const proxy = await startProxy({ upstreams: { api: { servers: [`http://127.0.0.1:${port}`] } }, routes: [{ name: 'api-route', to: 'api' }] })
  t.after(() => proxy.close())
  const res = await http(`${proxy.url}/x`)
  assert.equal(res.status, 502)
  const line = proxy.log.lines.find((l) => l.level === 'error')!
  assert.match(line.message, /connection refused/)
  assert.equal(line.fields?.route, 'api-route')
  assert.equal(line.fields?.upstream, `http://127.0.0.1:${port}`)
  assert.equal(proxy.log.accesses[0]!.status, 502)
  // The proxy keeps serving.
  assert.equal((await http(`${proxy.url}/y`)).status, 502)
})

test('upstream slower than the response-header timeout → 504', async (t) => {
  const backend = await startBackend(() => {}) // never answers
  const proxy = await startProxy({ upstreams: { slow: { servers: [backend.url], timeouts: { responseHeaders: 150 } } }, routes: [{ to: 'slow' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  const res = await http(`${proxy.url}/`)
  assert.equal(res.status, 504)
  assert.match(proxy.log.lines.find((l) => l.level === 'error')!.message, /response header timeout/)
})

test('total timeout before headers → 504', async (t) => {
  const backend = await startBackend(() => {})
  const proxy = await startProxy({ upstreams: { slow: { servers: [backend.url], timeouts: { total: '150ms' } } }, routes: [{ to: 'slow' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  assert.equal((await http(`${proxy.url}/`)).status, 504)
})


test('upstream dying mid-body aborts the client response (Content-Length and chunked)', async (t) => {
  const backend = await startBackend((req, res) => {
    if (req.url === '/cl') res.writeHead(200, { 'content-length': '100000' })
    else res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(Buffer.alloc(1000, 'x'), () => setImmediate(() => res.socket!.destroy()))
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  for (const path of ['/cl', '/chunked']) {
    const r = await readUntilEndOrAbort(`${proxy.url}${path}`)
    assert.equal(r.outcome, 'aborted', 'the client must see the response aborted, not ended cleanly')
    assert.equal(r.status, 200)
    assert.ok(r.received < 100000)
  }
  assert.ok(proxy.log.lines.some((l) => /after response started/.test(l.message)))
})

test('a client that disconnects aborts the upstream request', async (t) => {
  let upstreamClosed!: () => void
  const closed = new Promise<void>((r) => (upstreamClosed = r))
  let started!: () => void
  const upstreamStarted = new Promise<void>((r) => (started = r))
  const backend = await startBackend((_req, res) => {
    res.writeHead(200)
    res.write('partial')
    res.on('close', () => upstreamClosed())
    started()
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  const req = httpRequest(`${proxy.url}/`, { agent: false })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  await upstreamStarted
  res.destroy()
  req.destroy()
  await closed // the upstream saw its connection go
  await new Promise<void>((resolve) => {
    const check = () => (proxy.log.accesses.length > 0 ? resolve() : setImmediate(check))
    check()
  })
  assert.match(proxy.log.accesses[0]!.error!, /client closed/)
})

test('a client that disconnects mid-upload aborts the upstream request', async (t) => {
  let upstreamAborted!: () => void
  let upstreamReading!: () => void
  const aborted = new Promise<void>((r) => (upstreamAborted = r))
  const reading = new Promise<void>((r) => (upstreamReading = r))
  const backend = await startBackend((req) => {
    req.once('data', () => upstreamReading())
    req.on('data', () => {})
    req.on('close', () => { if (!req.complete) upstreamAborted() })
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b' }] })
  t.after(() => backend.close())
  t.after(() => proxy.close())
  const req = httpRequest(`${proxy.url}/upload`, { method: 'POST', agent: false, headers: { 'content-length': '1000000' } })
  req.on('error', () => {})
  req.write(Buffer.alloc(10000))
  await reading // (a client gone before the upstream exchange began leaves the upstream nothing to abort)
  req.write(Buffer.alloc(10000), () => req.destroy())
  await aborted
})

test('no matching route → 404 with a clear body', async (t) => {
  const proxy = await startProxy({ routes: [{ match: { path: '/only' }, respond: { body: 'x' } }] })
  t.after(() => proxy.close())
  const res = await http(`${proxy.url}/nope`, { method: 'POST', headers: { host: 'shop.example' } })
  assert.equal(res.status, 404)
  assert.match(res.body.toString(), /no route matches POST shop\.example\/nope/)
})

test('malformed requests get 400 and never reach a route', async (t) => {
  const proxy = await startProxy({ routes: [{ respond: { body: 'routed' } }] })
  t.after(() => proxy.close())
  for (const target of ['/a%zz', '/x#frag', '*']) {
    const raw = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)
    assert.match(raw, /^HTTP\/1\.1 400 /, target)
    assert.doesNotMatch(raw, /routed/)
  }
  const noHost = await rawRequest(proxy.port, 'GET / HTTP/1.1\r\nConnection: close\r\n\r\n')
  assert.match(noHost, /^HTTP\/1\.1 400 /)
  const both = await rawRequest(proxy.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  assert.match(both, /^HTTP\/1\.1 400 /)
  const connect = await rawRequest(proxy.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  assert.match(connect, /^HTTP\/1\.1 (400|405) /)
})

test('oversized request heads get 431', async (t) => {
  const proxy = await startProxy({ server: { maxHeaderSize: '8kb' }, routes: [{ respond: { body: 'x' } }] })
  t.after(() => proxy.close())
  const raw = await rawRequest(proxy.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`)
  assert.match(raw, /^HTTP\/1\.1 431 /)
})

test('an upstream closing a kept-alive connection as the next request arrives: a GET is retried on a new connection, a streamed POST gets 502', async (t) => {
  // Every connection answers its first request and is dropped at its second, without a byte:
  // what a server closing an idle connection looks like to a request that crossed the close.
  const { createServer } = await import('node:net')
  let connections = 0
  const server = createServer((socket) => {
    connections++
    let seen = 0
    socket.on('error', () => {})
    socket.on('data', (c: Buffer) => {
      if (!c.includes('\r\n\r\n')) return
      if (seen++ > 0) return void socket.destroy()
      socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => server.close(() => r())))
  const proxy = await startProxy({ upstreams: { b: { servers: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`], keepAlive: { connections: 1 } } }, routes: [{ to: 'b' }] })
  t.after(() => proxy.close())
  assert.equal((await http(`${proxy.url}/1`)).status, 200)
  assert.equal((await http(`${proxy.url}/2`)).status, 200)
  assert.equal(connections, 2)
  assert.equal(proxy.log.lines.filter((l) => l.level === 'error').length, 0)
  const post = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${proxy.url}/3`, { method: 'POST', agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
    req.on('error', reject)
    req.end('streamed')
  })
  assert.equal(post, 502)
  assert.match(proxy.log.lines.find((l) => l.level === 'error')!.message, /closed the connection/)
})

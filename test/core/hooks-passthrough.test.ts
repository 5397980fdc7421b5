/**
 * onResponse hooks that leave the body alone (runtime/pipeline/proxy-response.ts): the body goes
 * from the upstream (or the cache) to the client without Web streams — with the client's
 * backpressure, its aborts and the upstream's failures handled as on a route without hooks —
 * and every other use of the body (a clone, a late read, a replacement) still works.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { Socket } from 'node:net'
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { startBackend, startProxy, http, readUntilEndOrAbort, type TestServer } from '../helpers/servers.js'
import { RawClient } from '../hardening/helpers.js'
import type { Hooks } from '../../src/config/hooks.js'

const setHeader: Hooks['onResponse'] = (_ctx, res) => void res.headers.set('x-hooked', 'yes')

async function proxyWith(t: { after(fn: () => unknown): void }, backend: TestServer, hooks: Hooks, cache?: true) {
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ to: 'b', hooks, ...(cache ? { cache } : {}) }] })
  t.after(() => proxy.close())
  return proxy
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r))
}

/** Counts the Web streams the proxy's code constructs while `fn` runs. */
// Node's fetch classes keep the ReadableStream they first see: load them before countingStreams
// swaps the global (in a run of this file alone, `new Response(stream)` then refused every stream).
new Response(null)

async function countingStreams<T>(fn: () => Promise<T>): Promise<{ result: T; streams: number }> {
  const Original = globalThis.ReadableStream
  let streams = 0
  globalThis.ReadableStream = class extends Original<unknown> {
    constructor(...args: ConstructorParameters<typeof ReadableStream>) {
      super(...args)
      streams++
    }
  } as typeof ReadableStream
  try {
    return { result: await fn(), streams }
  } finally {
    globalThis.ReadableStream = Original
  }
}

/** The proxy's end of its connection to `backendReq`'s client (the proxy and the test share this process). */
function proxySocketOf(backendReq: IncomingMessage): Socket | undefined {
  const port = backendReq.socket.remotePort
  const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles()
  return handles.find((h): h is Socket => h instanceof Socket && h.localPort === port && h.remotePort === backendReq.socket.localPort)
}

test('a header-only onResponse hook: no Web stream is built (forwarded and cache hit), status and fields as the hook left them', async (t) => {
  const backend = await startBackend((req, res) => {
    // (a response with Set-Cookie is not stored: only the uncached routes get one)
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', ...(req.url === '/a' ? {} : { 'set-cookie': ['a=1', 'b=2'] }) })
    res.end('hello')
  })
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, { onResponse: setHeader })
  const cached = await proxyWith(t, backend, { onResponse: setHeader }, true)
  const noop = await proxyWith(t, backend, { onResponse: () => {} })
  for (const url of [proxy.url, `${cached.url}/a`, `${cached.url}/a`, noop.url]) {
    const { result: res, streams } = await countingStreams(() => http(url))
    assert.equal(streams, 0, url)
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'hello')
    if (!url.endsWith('/a')) assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2'])
    assert.equal(res.headers['x-hooked'], url === noop.url ? undefined : 'yes')
  }
  assert.match(String((await http(`${cached.url}/a`)).headers['cache-status']), /hit/)
  assert.deepEqual(noop.log.accesses.map((a) => [a.status, a.bytes]), [[200, 5]])
})

test('routes with onUpstreamResponse or onError hooks only: the response is streamed as on a plain route; onError still answers', async (t) => {
  const backend = await startBackend((req, res) => {
    if (req.url!.endsWith('/fail')) return void res.socket!.destroy()
    res.writeHead(200, { 'content-type': 'text/plain', 'x-internal': 'secret' })
    res.end('hello')
  })
  t.after(() => backend.close())
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      { match: { path: '/up/*' }, to: 'b', hooks: { onUpstreamResponse: (_ctx, res) => void res.headers.delete('x-internal') } },
      { match: { path: '/err/*' }, to: 'b', hooks: { onError: (_ctx, err) => new Response(`sorry (${err.status})`, { status: 503 }) } },
    ],
  })
  t.after(() => proxy.close())
  const { result: up, streams } = await countingStreams(() => http(`${proxy.url}/up/x`))
  assert.equal(streams, 0)
  assert.equal(up.body.toString(), 'hello')
  assert.equal(up.headers['x-internal'], undefined)
  const { result: ok, streams: okStreams } = await countingStreams(() => http(`${proxy.url}/err/x`))
  assert.equal(okStreams, 0)
  assert.equal(ok.headers['x-internal'], 'secret')
  const failed = await http(`${proxy.url}/err/fail`)
  assert.equal(failed.status, 503)
  assert.equal(failed.body.toString(), 'sorry (502)')
})

test('a large streamed body through a header-only hook: the client\'s backpressure pauses the upstream; the body arrives whole', { timeout: 30_000 }, async (t) => {
  // More than the kernel buffers between the proxy and a client that does not read (~4 MiB on
  // loopback here), so the proxy's writes must block and it must stop reading the upstream.
  const BIG = 8 * 1024 * 1024
  const block = Buffer.alloc(64 * 1024)
  for (let i = 0; i < block.length; i++) block[i] = i % 251
  let backendReq: IncomingMessage | undefined
  let sent = 0
  const backend = await startBackend((req, res) => {
    backendReq = req
    res.writeHead(200, { 'content-type': 'application/octet-stream' }) // chunked
    const pump = (): void => {
      while (sent < BIG) {
        sent += block.length
        if (!res.write(block)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  t.after(() => backend.close())
  for (const cache of [undefined, true] as const) {
    sent = 0
    backendReq = undefined
    const proxy = await proxyWith(t, backend, { onResponse: setHeader }, cache)
    const req = httpRequest(`${proxy.url}/big`, { agent: false })
    req.end()
    const [res] = (await once(req, 'response')) as [IncomingMessage]
    res.pause() // a client that does not read
    assert.equal(res.headers['x-hooked'], 'yes')
    // The proxy stops reading from the upstream (no timing: the state is observed on its socket).
    await waitFor(() => backendReq !== undefined && proxySocketOf(backendReq)?.isPaused() === true)
    const hash = createHash('sha256')
    let received = 0
    res.on('data', (c: Buffer) => {
      received += c.length
      hash.update(c)
    })
    res.resume()
    await once(res, 'end')
    assert.equal(received, BIG)
    const expected = createHash('sha256')
    for (let n = 0; n < BIG; n += block.length) expected.update(block)
    assert.equal(hash.digest('hex'), expected.digest('hex'))
    const access = proxy.log.accesses.at(-1)
    assert.equal(access?.bytes, BIG)
    assert.equal(access?.error, undefined)
  }
})

test('uses of the body the hooks make: a clone read later, a late read, a replacement with another status', async (t) => {
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('hello ')
    setImmediate(() => res.end('world'))
  })
  t.after(() => backend.close())
  let cloneText: Promise<string> | undefined
  let lateRead: Promise<unknown> | undefined // settles with the read's error
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      // Keeps a clone and reads it after the hook returned: the client still gets the whole body.
      { match: { path: '/clone' }, to: 'b', hooks: { onResponse: (_ctx, res) => void (cloneText = res.clone().text()) } },
      // Reads the body after returning: the proxy is sending it, so the read fails (as with a piped body).
      { match: { path: '/late' }, to: 'b', hooks: { onResponse: (_ctx, res) => void setImmediate(() => (lateRead = res.text().catch((err: unknown) => err))) } },
      // Another status and fields over the same body: still sent without a Web stream in between.
      {
        match: { path: '/status' }, to: 'b',
        hooks: { onResponse: (_ctx, res) => new Response(res.body, { status: 203, headers: { 'x-replaced': '1' } }) },
      },
      // A transform (the compression middleware's way): streamed through it.
      {
        match: { path: '/upper' }, to: 'b',
        hooks: {
          onResponse: (_ctx, res) => new Response(res.body!.pipeThrough(new TransformStream({
            transform: (chunk: Uint8Array, c) => c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
          })), res),
        },
      },
    ],
  })
  t.after(() => proxy.close())

  const cloned = await http(`${proxy.url}/clone`)
  assert.equal(cloned.body.toString(), 'hello world')
  assert.equal(await cloneText, 'hello world')

  const late = await http(`${proxy.url}/late`)
  assert.equal(late.body.toString(), 'hello world')
  await waitFor(() => lateRead !== undefined)
  assert.ok(await lateRead instanceof TypeError)

  const { result: replaced, streams } = await countingStreams(() => http(`${proxy.url}/status`))
  assert.equal(replaced.status, 203)
  assert.equal(replaced.headers['x-replaced'], '1')
  assert.equal(replaced.body.toString(), 'hello world')
  assert.equal(streams, 1, 'the body asked for, never piped')

  assert.equal((await http(`${proxy.url}/upper`)).body.toString(), 'HELLO WORLD')
})

test('upstream failing mid-body through a header-only hook → the client\'s response is aborted, logged', async (t) => {
  const backend = await startBackend((req, res) => {
    if (req.url === '/ok') return void res.end('ok')
    if (req.url === '/cl') res.writeHead(200, { 'content-length': '100000' })
    else res.writeHead(200, { 'content-type': 'text/plain' })
    res.write(Buffer.alloc(1000, 'x'), () => setImmediate(() => res.socket!.destroy()))
  })
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, { onResponse: setHeader })
  for (const path of ['/cl', '/chunked']) {
    const r = await readUntilEndOrAbort(`${proxy.url}${path}`)
    assert.equal(r.status, 200)
    assert.equal(r.headers['x-hooked'], 'yes')
    assert.equal(r.outcome, 'aborted', 'never a clean-looking truncated response')
    assert.ok(r.received < 100000)
  }
  await waitFor(() => proxy.log.accesses.length === 2)
  for (const access of proxy.log.accesses) assert.match(String(access.error), /after response started/)
  assert.equal((await http(`${proxy.url}/ok`)).body.toString(), 'ok', 'still serving')
})

test('client leaving mid-body through a header-only hook → the upstream exchange is aborted; the proxy keeps serving', async (t) => {
  let upstreamRes: ServerResponse | undefined
  const backend = await startBackend((req, res) => {
    if (req.url !== '/slow') return void res.end('ok')
    upstreamRes = res
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first chunk') // and nothing more until the client has gone
  })
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, { onResponse: setHeader })
  const req = httpRequest(`${proxy.url}/slow`, { agent: false })
  req.end()
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  assert.equal(res.headers['x-hooked'], 'yes')
  const [first] = (await once(res, 'data')) as [Buffer]
  assert.equal(first.toString(), 'first chunk')
  const upstreamClosed = once(upstreamRes!, 'close')
  res.destroy()
  await upstreamClosed // the proxy closed its upstream request
  await waitFor(() => proxy.log.accesses.length === 1)
  assert.match(String(proxy.log.accesses[0]!.error), /client closed/)
  assert.equal((await http(`${proxy.url}/other`)).body.toString(), 'ok')
})

test('HEAD and 304 through a header-only hook: no body, the connection stays in sync', async (t) => {
  const backend = await startBackend((req, res) => {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"' })
      return void res.end()
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5', etag: '"v1"' })
    res.end(req.method === 'HEAD' ? undefined : 'hello')
  })
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, { onResponse: setHeader })
  const c = await RawClient.open(proxy.port)
  t.after(() => c.destroy())
  c.write('HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nIf-None-Match: "v1"\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n')
  const head = await c.response({ head: true })
  assert.equal(head.status, 200)
  assert.equal(head.header('content-length'), '5')
  assert.equal(head.header('x-hooked'), 'yes')
  const notModified = await c.response()
  assert.equal(notModified.status, 304)
  assert.equal(notModified.header('x-hooked'), 'yes')
  assert.equal(notModified.header('etag'), '"v1"')
  const next = await c.response()
  assert.equal(next.status, 200)
  assert.equal(next.body.toString(), 'hello')
})

test('a header-only hook asking for Connection: close ends the connection after the response', async (t) => {
  const backend = await startBackend((_req, res) => res.end('hello'))
  t.after(() => backend.close())
  const proxy = await proxyWith(t, backend, { onResponse: (_ctx, res) => void res.headers.set('connection', 'close') })
  const c = await RawClient.open(proxy.port)
  t.after(() => c.destroy())
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  const res = await c.response()
  assert.equal(res.body.toString(), 'hello')
  assert.equal(res.header('connection'), 'close')
  await c.closed
})

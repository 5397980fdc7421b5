/**
 * Pipelining on node:http's path (runtime/adapters/node/node-listener.ts): every request when
 * `server.fastFront` is false, and the rest of a connection once the fast front has handed it
 * over (after a request with a chunked body). Each test runs on both: with the fast front on, the
 * connection starts with a chunked POST.
 *
 * - A request whose chunked body breaks while an earlier response is still in flight gets its
 *   400 right after that response, not after `bodyIdleTimeout` (30 s here: the test's own
 *   timeout is the guard), and never reaches the upstream.
 * - Nothing pipelined behind a response that closes the connection reaches the upstream, even
 *   when that response decides the close itself (HTTP/1.0 keep-alive and a body of unknown
 *   length; a handler's `Connection: close`), and the response is delivered whole although
 *   the client keeps sending behind it (lingering close).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { RawClient, rawBackend, proxyFor, okReply, until, type SeenRequest } from './helpers.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { bodyLimit } from '../../src/middleware/body-limit.js'

const T = { timeout: 10_000 }
const FIRST = 'POST /first HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'

/** A backend that holds `GET /slow` until `release()`; anything else gets okReply. */
async function slowBackend() {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const backend = await rawBackend((req: SeenRequest) => {
    if (req.line.startsWith('GET /slow ')) void released.then(() => okReply(req))
    else okReply(req)
  })
  return { backend, release }
}

/** A client on the node:http path: with the fast front on, a request with a chunked body goes first. */
async function nodePathClient(port: number, fastFront: boolean): Promise<RawClient> {
  const c = await RawClient.open(port)
  if (fastFront) {
    c.write(FIRST)
    assert.equal((await c.response()).body.toString(), 'POST /first HTTP/1.1')
  }
  return c
}

for (const fastFront of [false, true]) {
  const front = fastFront ? 'fast front, handed over' : 'node:http only'
  const server = { fastFront, bodyIdleTimeout: '30s' } as const

  test(`${front}: a broken chunked body pipelined behind a response in flight gets 400 after it, without waiting for bodyIdleTimeout`, T, async (t) => {
    const pipelines: Array<[string, string[]]> = [
      ['GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', ['GET /slow HTTP/1.1']],
      ['GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast HTTP/1.1\r\nHost: a\r\n\r\n', ['GET /slow HTTP/1.1', 'GET /fast HTTP/1.1']],
    ]
    for (const [before, answers] of pipelines) {
      const { backend, release } = await slowBackend()
      const proxy = await proxyFor(t, backend, {}, { server })
      const c = await nodePathClient(proxy.port, fastFront)
      c.write(`${before}POST /broken HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n`)
      await until(() => backend.requests.some((r) => r.line.startsWith('GET /slow ')))
      release()
      for (const body of answers) assert.equal((await c.response()).body.toString(), body)
      const refused = await c.response()
      assert.equal(refused.status, 400)
      assert.equal(refused.header('connection'), 'close')
      await c.closed
      assert.doesNotMatch(backend.received, /POST \/broken/, 'the broken request went upstream')
      const logged = proxy.log.lines.find((l) => /request refused \(400\): HPE_INVALID_CHUNK_SIZE/.test(l.message))
      assert.ok(logged, 'the refusal is logged')
      assert.equal(logged.fields?.method, 'POST')
      assert.equal(logged.fields?.target, '/broken')
      assert.ok(!proxy.log.lines.some((l) => /\(408\)/.test(l.message)), 'no 408')
    }
  })

  test(`${front}: requests pipelined behind a response that decides to close the connection never reach the upstream`, T, async (t) => {
    const backend = await rawBackend((req) => {
      if (req.line.startsWith('GET /chunked ')) req.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nchunk\r\n0\r\n\r\n')
      else okReply(req)
    })
    const proxy = await proxyFor(t, backend, {}, {
      server,
      routes: [{ match: { path: '/bye' }, handle: async () => new Response('bye', { headers: { connection: 'close' } }) }],
    } as Partial<SwitchyardConfig>)
    const behind = 'DELETE /next HTTP/1.1\r\nHost: a\r\n\r\nPOST /next HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi'
    // HTTP/1.0 keep-alive, a body of unknown length: it ends at the close. A handler's Connection: close.
    for (const [first, body] of [['GET /chunked HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n', 'chunk'], ['GET /bye HTTP/1.1\r\nHost: a\r\n\r\n', 'bye']] as const) {
      const c = await nodePathClient(proxy.port, fastFront)
      c.write(first + behind)
      const res = await c.response()
      assert.equal(res.body.toString(), body)
      assert.equal(res.header('connection'), 'close')
      assert.equal(await c.rest(), '')
    }
    assert.doesNotMatch(backend.received, /\/next/, 'a request behind the closing response went upstream')
  })

  test(`${front}: nothing pipelined behind a refused request with a body reaches the upstream`, T, async (t) => {
    // The refusal is written while node:http still parses the read that holds the body and the
    // request behind it: that request is emitted, and must not be served.
    const backend = await rawBackend()
    const proxy = await proxyFor(t, backend, {}, { server, use: [bodyLimit({ max: 100 })] } as Partial<SwitchyardConfig>)
    const behind = 'DELETE /victim HTTP/1.1\r\nHost: a\r\n\r\n'
    const refused: Array<[string, number]> = [
      ['TRACE / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', 405],
      ['POST / HTTP/1.1\r\nHost: a\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello', 400],
      [`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 200\r\n\r\n${'x'.repeat(200)}`, 413],
    ]
    for (const [request, status] of refused) {
      const c = await nodePathClient(proxy.port, fastFront)
      c.write(request + behind)
      const res = await c.response()
      assert.equal(res.status, status)
      assert.equal(res.header('connection'), 'close')
      assert.equal(await c.rest(), '')
    }
    assert.doesNotMatch(backend.received, /victim/, 'a request behind the refusal went upstream')
  })

  test(`${front}: a CONNECT pipelined behind a response gets its 405 after it, and nothing behind a refusal that closed the connection`, T, async (t) => {
    const backend = await rawBackend()
    const proxy = await proxyFor(t, backend, {}, { server } as Partial<SwitchyardConfig>)
    const connectRequest = 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n'
    // Behind a refusal of a request with a body: node:http parses the CONNECT from the read the
    // refusal's close came in (answering it then wrote after the end: an uncaught error, the process down).
    const refused = await nodePathClient(proxy.port, fastFront)
    refused.write(`TRACE / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello${connectRequest}`)
    assert.equal((await refused.response()).status, 405)
    assert.equal(await refused.rest(), '')
    // Behind a response in flight: answered after it.
    const behind = await nodePathClient(proxy.port, fastFront)
    behind.write(`GET /1 HTTP/1.1\r\nHost: a\r\n\r\n${connectRequest}`)
    assert.equal((await behind.response()).body.toString(), 'GET /1 HTTP/1.1')
    const answer = await behind.response()
    assert.equal(answer.status, 405)
    assert.equal(answer.header('connection'), 'close')
    await behind.closed
  })

  test(`${front}: a response that closes the connection is delivered whole while the client keeps sending (lingering close)`, T, async (t) => {
    const SIZE = 1_000_000
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const backend = await rawBackend((req) => {
      if (!req.line.startsWith('GET /big ')) return okReply(req)
      const half = Buffer.alloc(SIZE / 2, 'b').toString()
      req.socket.write(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${(SIZE / 2).toString(16)}\r\n${half}\r\n`)
      void released.then(() => req.socket.write(`${(SIZE / 2).toString(16)}\r\n${half}\r\n0\r\n\r\n`))
    })
    const proxy = await proxyFor(t, backend, {}, { server })
    const outcome = await new Promise<{ head: string; body: number; error: Error | undefined }>((resolve) => {
      // Half-open: the client goes on sending after the proxy's FIN, as one still uploading would.
      const s: Socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
      let received = Buffer.alloc(0)
      let error: Error | undefined
      s.on('error', (err) => (error = err))
      s.on('data', (d: Buffer) => void (received = Buffer.concat([received, d])))
      s.on('close', () => {
        const at = received.indexOf('\r\n\r\n') + 4
        resolve({ head: received.toString('latin1', 0, at), body: received.length - at, error })
      })
      // The proxy's FIN: the client still sends more of its upload, then closes its side. More
      // than the sockets' buffers hold: the client's side closes only if the proxy reads it.
      s.on('end', () => s.end(Buffer.alloc(16 << 20, 'z')))
      s.on('connect', async () => {
        if (fastFront) {
          s.write(FIRST)
          await until(() => received.includes('POST /first HTTP/1.1'))
          received = Buffer.alloc(0)
        }
        s.write('GET /big HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n')
        await until(() => received.includes('\r\n\r\n')) // the response has begun
        // An upload the proxy will never read (it cannot be answered): its bytes wait unread.
        s.write(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n`)
        s.write(Buffer.alloc(2_000_000, 'u'))
        release()
      })
    })
    assert.equal(outcome.error, undefined, 'the connection was reset')
    assert.match(outcome.head, /^HTTP\/1\.1 200 /)
    assert.match(outcome.head, /connection: close/i)
    assert.equal(outcome.body, SIZE)
    assert.doesNotMatch(backend.received, /\/upload/)
  })
}

for (const fastFront of [false, true]) {
  const front = fastFront ? 'fast front, handed over' : 'node:http only'

  test(`${front}: requests pipelined behind a slow one wait their turn and are answered in order; past 128 held, the connection closes after them`, T, async (t) => {
    for (const [n, answered] of [[100, 100], [300, 128]] as const) {
      const { backend, release } = await slowBackend()
      const proxy = await proxyFor(t, backend, {}, { server: { fastFront } })
      const c = await nodePathClient(proxy.port, fastFront)
      let pipeline = 'GET /slow HTTP/1.1\r\nHost: a\r\n\r\n'
      for (let i = 0; i < n; i++) pipeline += `GET /n/${i} HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(60)}\r\n\r\n`
      c.write(pipeline)
      await until(() => backend.requests.some((r) => r.line.startsWith('GET /slow ')))
      assert.equal(backend.requests.filter((r) => r.line.startsWith('GET /n/')).length, 0, 'none forwarded before their turn')
      release()
      assert.equal((await c.response()).body.toString(), 'GET /slow HTTP/1.1')
      for (let i = 0; i < answered; i++) {
        const res = await c.response()
        assert.equal(res.body.toString(), `GET /n/${i} HTTP/1.1`)
        assert.equal(res.header('connection'), i === answered - 1 && answered < n ? 'close' : 'keep-alive')
      }
      if (answered < n) assert.equal(await c.rest(), '')
      c.destroy()
      const lines = backend.requests.map((r) => r.line).filter((l) => l.startsWith('GET /n/'))
      assert.deepEqual(lines, Array.from({ length: answered }, (_, i) => `GET /n/${i} HTTP/1.1`))
    }
  })

  test(`${front}: bytes after a Connection: close request are read and dropped, not refused; its response is delivered whole`, T, async (t) => {
    const SIZE = 1_000_000
    const backend = await rawBackend((req) => {
      if (!req.line.startsWith('GET /big ')) return okReply(req)
      req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${SIZE}\r\n\r\n`)
      req.socket.write(Buffer.alloc(SIZE, 'b'))
    })
    const proxy = await proxyFor(t, backend, {}, { server: { fastFront } })
    const outcome = await new Promise<{ body: number; error: Error | undefined }>((resolve) => {
      const s: Socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true })
      let received = Buffer.alloc(0)
      let error: Error | undefined
      s.on('error', (err) => (error = err))
      s.on('data', (d: Buffer) => void (received = Buffer.concat([received, d])))
      s.on('end', () => s.end())
      s.on('close', () => resolve({ body: received.length - (received.indexOf('\r\n\r\n') + 4), error }))
      s.on('connect', async () => {
        if (fastFront) {
          s.write(FIRST)
          await until(() => received.includes('POST /first HTTP/1.1'))
          received = Buffer.alloc(0)
        }
        s.write('GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n')
        await until(() => received.length > 0)
        s.write(Buffer.alloc(1_000_000, 'x')) // and more, while the response is on its way
      })
    })
    assert.equal(outcome.error, undefined)
    assert.equal(outcome.body, SIZE)
    assert.ok(!backend.requests.some((r) => r.line.startsWith('GET /after ')))
    assert.ok(!proxy.log.lines.some((l) => /refused/.test(l.message)), JSON.stringify(proxy.log.lines.map((l) => l.message)))
  })

  test(`${front}: a pipelined request expecting 100-continue is invited once its turn comes`, T, async (t) => {
    const { backend, release } = await slowBackend()
    const proxy = await proxyFor(t, backend, {}, { server: { fastFront } })
    const c = await nodePathClient(proxy.port, fastFront)
    c.write('GET /slow HTTP/1.1\r\nHost: a\r\n\r\nPOST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n')
    await until(() => backend.requests.some((r) => r.line.startsWith('GET /slow ')))
    release()
    assert.equal((await c.response()).body.toString(), 'GET /slow HTTP/1.1')
    assert.equal((await c.response()).status, 100)
    c.write('abc')
    const res = await c.response()
    assert.equal(res.body.toString(), 'POST /expect HTTP/1.1')
    c.destroy()
    assert.equal(backend.requests.find((r) => r.line.startsWith('POST /expect '))?.body, 'abc')
  })
}

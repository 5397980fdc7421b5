/**
 * Response framing through real sockets: a raw server writes exact bytes, the pool reads them.
 * Checks the body each kind of response delivers, and whether the connection is reused
 * afterwards (counted at the server).
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { UpstreamPool } from '../../runtime/upstream-client/pool.js'
import { classifyUpstreamError } from '../../runtime/forward/upstream-error.js'
import { rawServer, ok, send, failure, Collector, type SeenHead } from './helpers.js'

const T = { timeout: 10_000 }

/** A server answering `/x` with `reply` and anything else with a plain 200; a one-connection pool. */
async function setup(t: TestContext, reply: (head: SeenHead) => void, options = {}) {
  const server = await rawServer((head) => (head.line.includes(' /x ') ? reply(head) : head.socket.write(ok(head.line.split(' ')[1]))))
  const pool = new UpstreamPool(server.url, { connections: 1, headersTimeout: 2000, bodyTimeout: 2000, ...options })
  t.after(() => pool.destroy())
  t.after(() => server.close())
  return { server, pool }
}

/** Writes `bytes` one at a time (each byte its own read at the client, mostly). */
function dribble(head: SeenHead, bytes: string): void {
  let i = 0
  const next = (): void => {
    if (i >= bytes.length || head.socket.destroyed) return
    head.socket.write(bytes[i++]!, 'latin1', () => setImmediate(next))
  }
  next()
}

test('Content-Length and chunked bodies, whole or one byte per read; the connection is reused', T, async (t) => {
  const big = `x-big: ${'b'.repeat(10_000)}\r\n` // a head longer than the parser's 4 KiB slices
  const responses = [
    ok('hello', 'x-a: 1\r\n'),
    'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n',
    ok('hello', big),
    `HTTP/1.1 200 OK\r\n${big}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
  ]
  for (const [i, bytes] of responses.entries()) {
    for (const split of i < 2 ? [false, true] : [false]) {
      const { server, pool } = await setup(t, (head) => (split ? dribble(head, bytes) : head.socket.write(bytes)))
      const res = await send(pool, { path: '/x' })
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), i % 2 === 0 ? 'hello' : 'hello world')
      if (i >= 2) assert.equal(res.header('x-big')!.length, 10_000)
      assert.equal((await send(pool, { path: '/next' })).body.toString(), '/next')
      assert.equal(server.connections, 1, 'reused')
    }
  }
})

test('HEAD, 204 and 304: no body whatever Content-Length says; bytes after them are not read as the next response', T, async (t) => {
  const { server, pool } = await setup(t, (head) => head.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n'))
  const head = await send(pool, { path: '/x', method: 'HEAD' })
  assert.equal(head.header('content-length'), '1234')
  assert.equal(head.body.length, 0)
  assert.equal((await send(pool, { path: '/after-head' })).body.toString(), '/after-head')
  assert.equal(server.connections, 1, 'a HEAD response leaves the connection in sync')
  const bare = await setup(t, (h) => h.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n'))
  assert.equal((await send(bare.pool, { path: '/x', method: 'HEAD' })).body.length, 0)
  await send(bare.pool, { path: '/next' })
  assert.equal(bare.server.connections, 1, 'a HEAD response without length is complete at its head, and reusable')

  for (const status of ['204 No Content', '304 Not Modified']) {
    const { server, pool } = await setup(t, (h) => h.socket.write(`HTTP/1.1 ${status}\r\ncontent-length: 5\r\n\r\nhello`))
    const res = await send(pool, { path: '/x' })
    assert.equal(res.status, Number(status.slice(0, 3)))
    assert.equal(res.body.length, 0)
    assert.equal((await send(pool, { path: '/next' })).body.toString(), '/next')
    assert.equal(server.connections, 2, 'the connection with leftover bytes was dropped')
  }
})

test('1xx interim responses (100 Continue, 103 Early Hints) are skipped; the final response follows', T, async (t) => {
  for (const interim of ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </b>\r\n\r\n']) {
    for (const split of [false, true]) {
      const { server, pool } = await setup(t, (head) => {
        if (split) {
          head.socket.write(interim)
          setImmediate(() => head.socket.write(ok('final', 'x-final: 1\r\n')))
        } else {
          head.socket.write(interim + ok('final', 'x-final: 1\r\n'))
        }
      })
      const res = await send(pool, { path: '/x' })
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), 'final')
      assert.equal(res.header('link'), undefined)
      assert.equal(res.header('x-final'), '1')
      await send(pool, { path: '/next' })
      assert.equal(server.connections, 1)
    }
  }
})

test('close-delimited bodies are read until EOF; the connection is not reused', T, async (t) => {
  for (const status of ['HTTP/1.0 200 OK', 'HTTP/1.1 200 OK']) {
    const { server, pool } = await setup(t, (head) => {
      head.socket.write(`${status}\r\ncontent-type: text/plain\r\n\r\nuntil `)
      setImmediate(() => head.socket.end('the end'))
    })
    const res = await send(pool, { path: '/x' })
    assert.equal(res.body.toString(), 'until the end')
    await send(pool, { path: '/next' })
    assert.equal(server.connections, 2)
  }
})

test('Connection: close from the upstream, or an HTTP/1.0 response without keep-alive: not reused', T, async (t) => {
  for (const bytes of [ok('bye', 'connection: close\r\n'), 'HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\nbye']) {
    const { server, pool } = await setup(t, (head) => head.socket.write(bytes))
    assert.equal((await send(pool, { path: '/x' })).body.toString(), 'bye')
    await send(pool, { path: '/next' })
    assert.equal(server.connections, 2)
  }
  const { server, pool } = await setup(t, (head) => head.socket.write('HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 3\r\n\r\nbye'))
  await send(pool, { path: '/x' })
  await send(pool, { path: '/next' })
  assert.equal(server.connections, 1, 'HTTP/1.0 with Connection: keep-alive is reused')
})

test('bad framing → SWITCHYARD_BAD_UPSTREAM_RESPONSE, which the forwarder maps to 502 with a reason', T, async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['CL and TE', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /Transfer-Encoding can't be present with Content-Length/],
    ['two Content-Lengths', 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello', /content-length/i],
    ['invalid status line', 'HTTP/1.1 2x0 OK\r\ncontent-length: 2\r\n\r\nok', /status/i],
    ['status below 100', 'HTTP/1.1 099 Odd\r\ncontent-length: 2\r\n\r\nok', /status line/],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', /Expected HTTP/],
    ['oversized head', `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}\r\ncontent-length: 2\r\n\r\nok`, /head too large/],
    ['101 without an upgrade request', 'HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n', /101 Switching Protocols/],
  ]
  for (const [label, bytes, reason] of cases) {
    const { server, pool } = await setup(t, (head) => head.socket.write(bytes))
    const err = await failure(send(pool, { path: '/x' }))
    assert.equal(err.code, 'SWITCHYARD_BAD_UPSTREAM_RESPONSE', label)
    assert.match(err.message, reason, label)
    const mapped = classifyUpstreamError(err)
    assert.equal(mapped.status, 502, label)
    assert.match(mapped.reason, /^invalid upstream response \(/, label)
    assert.equal((await send(pool, { path: '/next' })).body.toString(), '/next', `${label}: the pool keeps serving`)
    assert.equal(server.connections, 2, label)
  }
})

test('a bad chunk size after the head: onHeaders, then onError (never onComplete)', T, async (t) => {
  const { pool } = await setup(t, (head) => head.socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n0\r\n\r\n'))
  const err = await failure(send(pool, { path: '/x' }))
  assert.equal(err.code, 'SWITCHYARD_BAD_UPSTREAM_RESPONSE')
  assert.match(err.message, /chunk size/i)
})

test('bytes after a complete response, or on an idle connection, never reach the next response', T, async (t) => {
  const { server, pool } = await setup(t, (head) => head.socket.write(`${ok('first')}HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nLEAKED`))
  assert.equal((await send(pool, { path: '/x' })).body.toString(), 'first')
  assert.equal((await send(pool, { path: '/next' })).body.toString(), '/next')
  assert.equal(server.connections, 2)

  let idle!: SeenHead
  const s2 = await setup(t, (head) => {
    idle = head
    head.socket.write(ok('first'))
  })
  assert.equal((await send(s2.pool, { path: '/x' })).body.toString(), 'first')
  idle.socket.write(ok('LEAKED'))
  await s2.server.closed(1) // the pool closes a connection that talks out of turn
  assert.equal((await send(s2.pool, { path: '/next' })).body.toString(), '/next')
  assert.equal(s2.server.connections, 2)
})

test('the upstream closing before or during the response: SWITCHYARD_UPSTREAM_CLOSED / ECONNRESET', T, async (t) => {
  const cases: Array<[string, (head: SeenHead) => void, RegExp]> = [
    ['close before responding', (head) => head.socket.end(), /before responding/],
    ['close mid-head', (head) => head.socket.end('HTTP/1.1 200 OK\r\nx-a: b\r\n'), /before responding/],
    ['close mid-body (Content-Length)', (head) => head.socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello'), /mid-body/],
    ['close mid-body (chunked)', (head) => head.socket.end('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'), /mid-body/],
  ]
  for (const [label, reply, reason] of cases) {
    const { pool } = await setup(t, reply)
    const err = await failure(send(pool, { path: '/x' }))
    assert.equal(err.code, 'SWITCHYARD_UPSTREAM_CLOSED', label)
    assert.match(err.message, reason, label)
    assert.equal(classifyUpstreamError(err).status, 502)
  }
  const { pool } = await setup(t, (head) => head.socket.resetAndDestroy())
  assert.equal((await failure(send(pool, { path: '/x' }))).code, 'ECONNRESET')
})

test('a handler that pauses in onHeaders gets the body only after resume(), whatever the framing', T, async (t) => {
  for (const bytes of [ok('hello world'), 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\nhello world']) {
    let flushed!: () => void
    const sent = new Promise<void>((resolve) => (flushed = resolve))
    const { pool } = await setup(t, (head) => head.socket.end(bytes, flushed))
    const c = new Collector()
    c.onHeaders = (status, headers, resume) => {
      c.status = status
      c.headers = headers
      c.resume = resume
      return false
    }
    const result = send(pool, { path: '/x' }, c)
    await sent // the whole response is on its way; give the client a few turns to read it
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(c.chunks.length, 0, bytes.slice(0, 40))
    c.resume!()
    assert.equal((await result).body.toString(), 'hello world')
  }
})

test('response headers: latin1 strings in order, repeated fields separate, Keep-Alive and Connection passed on', T, async (t) => {
  const { pool } = await setup(t, (head) => head.socket.write(
    'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nX-Latin: caf\xe9\r\nSet-Cookie: b=2\r\nKeep-Alive: timeout=60\r\nContent-Length: 0\r\n\r\n', 'latin1'))
  const res = await send(pool, { path: '/x' })
  assert.deepEqual(res.headers, ['Set-Cookie', 'a=1', 'X-Latin', 'café', 'Set-Cookie', 'b=2', 'Keep-Alive', 'timeout=60', 'Content-Length', '0'])
})

/**
 * Upstream faults from raw-socket backends: broken framing, bad heads, 1xx oddities, leftovers
 * on a reused connection, timeouts and resets. The client gets 502/504 or an aborted response
 * (never a clean-looking wrong one), nothing leaks into the next response, the proxy keeps
 * serving and the log says why.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RawClient, ClosedEarly, rawBackend, okReply, proxyFor, type SeenRequest, type RawResponse } from './helpers.js'
import type { TestProxy } from '../helpers/servers.js'

const T = { timeout: 10_000 }
const OK = (body = 'ok') => `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`

/** A proxy whose upstream answers `/fault…` with `fault` and anything else normally (one pooled connection). */
async function faulty(t: Parameters<typeof proxyFor>[0], fault: (req: SeenRequest) => void) {
  const backend = await rawBackend((req) => (req.line.includes(' /fault') ? fault(req) : okReply(req)))
  const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 }, timeouts: { responseHeaders: 300, bodyIdle: 300 } })
  return { backend, proxy }
}

async function get(proxy: TestProxy, path: string, method = 'GET'): Promise<RawResponse> {
  const c = await RawClient.open(proxy.port)
  c.write(`${method} ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
  try {
    return await c.response({ head: method === 'HEAD' })
  } finally {
    c.destroy()
  }
}

/** The response was cut off: the connection closed before a complete message. */
async function getAborted(proxy: TestProxy, path: string): Promise<string> {
  const c = await RawClient.open(proxy.port)
  c.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
  const err = await c.response().then((r) => assert.fail(`expected an aborted response, got a complete ${r.status}`), (e: unknown) => e)
  assert.ok(err instanceof ClosedEarly, String(err))
  return err.partial
}

async function stillServing(proxy: TestProxy): Promise<void> {
  const res = await get(proxy, '/next')
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'GET /next HTTP/1.1')
}

function logged(proxy: TestProxy, pattern: RegExp): void {
  assert.ok(proxy.log.lines.some((l) => l.level === 'error' && pattern.test(l.message)), `no error log matching ${pattern}: ${JSON.stringify(proxy.log.lines.map((l) => l.message))}`)
}

test('invalid response heads → 502, logged, proxy keeps serving', T, async (t) => {
  const heads: Array<[string, string]> = [
    ['CL+TE', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!'],
    ['Content-Length +2', 'HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok'],
    ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok'],
    ['NUL in value', 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok'],
    ['space in name', 'HTTP/1.1 200 OK\r\nX A: b\r\nContent-Length: 2\r\n\r\nok'],
    ['space before colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'],
    ['bare CR in value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok'],
    ['response splitting (bare LF)', 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\nInjected: yes\r\nContent-Length: 2\r\n\r\nok'],
    ['bare LF line endings', 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok'],
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['status 099', 'HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok'],
    ['oversized head', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100_000)}\r\nContent-Length: 2\r\n\r\nok`],
  ]
  for (const [label, bytes] of heads) {
    await t.test(label, async (t) => {
      const { proxy } = await faulty(t, (req) => req.socket.write(bytes))
      const res = await get(proxy, '/fault')
      assert.equal(res.status, 502, label)
      assert.doesNotMatch(res.head, /injected|x-big/i)
      logged(proxy, /upstream request failed/)
      await stillServing(proxy)
    })
  }
})

test('upstream that never answers → 504 (response-header timeout), logged', T, async (t) => {
  const { proxy } = await faulty(t, () => {})
  assert.equal((await get(proxy, '/fault')).status, 504)
  logged(proxy, /response header timeout/)
  await stillServing(proxy)
})

test('upstream that closes at once, or resets mid-head → 502, logged', T, async (t) => {
  for (const [label, fault] of [
    ['close', (req: SeenRequest) => req.socket.destroy()],
    ['reset mid-head', (req: SeenRequest) => { req.socket.write('HTTP/1.1 200 OK\r\nX-A: '); setImmediate(() => req.socket.resetAndDestroy()) }],
    ['close mid-head', (req: SeenRequest) => req.socket.end('HTTP/1.1 200 OK\r\nX-A: b\r\n')],
  ] as const) {
    await t.test(label, async (t) => {
      const { proxy } = await faulty(t, fault)
      assert.equal((await get(proxy, '/fault')).status, 502)
      logged(proxy, /closed the connection|reset/)
      await stillServing(proxy)
    })
  }
})

test('body shorter than Content-Length, then close → the client response is aborted', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'))
  const partial = await getAborted(proxy, '/fault')
  assert.match(partial, /^HTTP\/1\.1 200 /)
  logged(proxy, /after response started/)
  await stillServing(proxy)
})

test('invalid chunked body → the client response is aborted', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nbad\r\n0\r\n\r\n'))
  const partial = await getAborted(proxy, '/fault')
  assert.doesNotMatch(partial, /0\r\n\r\n$/) // never a clean chunked end
  logged(proxy, /upstream request failed/)
  await stillServing(proxy)
})

test('body longer than Content-Length: the extra bytes never reach the next response', T, async (t) => {
  const { backend, proxy } = await faulty(t, (req) => req.socket.write(`${OK('ok')}HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nLEAKED`))
  const first = await get(proxy, '/fault')
  assert.equal(first.body.toString(), 'ok')
  for (let i = 0; i < 3; i++) await stillServing(proxy)
  assert.ok(backend.connections >= 2, 'the polluted connection was not reused')
})

test('an unsolicited response on an idle upstream connection is not served to the next request', T, async (t) => {
  let idle!: SeenRequest
  const { backend, proxy } = await faulty(t, (req) => {
    idle = req
    req.socket.write(OK('first'))
  })
  assert.equal((await get(proxy, '/fault')).body.toString(), 'first')
  const dropped = new Promise((resolve) => idle.socket.once('close', resolve))
  idle.socket.write(OK('LEAKED'))
  await dropped // the pool drops a connection that talks out of turn
  for (let i = 0; i < 2; i++) await stillServing(proxy)
  assert.equal(backend.connections, 2)
})

test('HTTP/1.0 or close-delimited response → complete, re-framed chunked for an HTTP/1.1 client', T, async (t) => {
  for (const status of ['HTTP/1.0 200 OK', 'HTTP/1.1 200 OK']) {
    await t.test(status, async (t) => {
      const { proxy } = await faulty(t, (req) => req.socket.end(`${status}\r\nContent-Type: text/plain\r\n\r\nuntil the end`))
      const res = await get(proxy, '/fault')
      assert.equal(res.status, 200)
      assert.equal(res.header('transfer-encoding'), 'chunked')
      assert.equal(res.body.toString(), 'until the end')
      await stillServing(proxy)
    })
  }
})

test('Connection: close from the upstream mid keep-alive: the next request opens a new connection', T, async (t) => {
  const { backend, proxy } = await faulty(t, (req) => req.socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye'))
  await stillServing(proxy)
  const res = await get(proxy, '/fault')
  assert.equal(res.body.toString(), 'bye')
  assert.doesNotMatch(res.head, /connection: close/i) // hop-by-hop: the client connection stays up
  await stillServing(proxy)
  assert.equal(backend.connections, 2)
})

test('response without a reason phrase, and unusual 3-digit statuses, pass through', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write(req.line.includes('599') ? 'HTTP/1.1 599 Custom\r\nContent-Length: 2\r\n\r\nok' : 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok'))
  const res = await get(proxy, '/fault')
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'ok')
  assert.equal((await get(proxy, '/fault599')).status, 599)
})

test('interim responses (103 Early Hints, 102) are passed on before the final response (RFC 9110 §15.2), hop-by-hop fields removed; not to an HTTP/1.0 client', T, async (t) => {
  for (const fastFront of [true, false]) {
    await t.test(`fastFront: ${fastFront}`, async (t) => {
      const backend = await rawBackend((req) => {
        if (!req.line.includes(' /fault')) return okReply(req)
        req.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: x-hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n')
        setImmediate(() => req.socket.write(`HTTP/1.1 102 Processing\r\n\r\n${OK('final')}`))
      })
      const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 } }, { server: { fastFront } })
      const c = await RawClient.open(proxy.port)
      c.write('GET /fault HTTP/1.1\r\nHost: a\r\n\r\n')
      const hints = await c.response()
      assert.equal(hints.status, 103)
      assert.equal(hints.header('link'), '</a.css>; rel=preload')
      assert.equal(hints.header('x-kept'), '2')
      assert.equal(hints.header('x-hop'), undefined)
      assert.equal((await c.response()).status, 102)
      const res = await c.response()
      assert.equal(res.status, 200)
      assert.equal(res.body.toString(), 'final')
      c.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n') // the connection is in step
      assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1')
      c.destroy()
      const old = await RawClient.open(proxy.port)
      old.write('GET /fault HTTP/1.0\r\nHost: a\r\n\r\n')
      const only = await old.response()
      assert.equal(only.status, 200)
      assert.equal(only.body.toString(), 'final')
      old.destroy()
    })
  }
})

test('an unsolicited 100 Continue before the final response is skipped (RFC 9110 §15.2)', T, async (t) => {
  const { backend, proxy } = await faulty(t, (req) => req.socket.write(`HTTP/1.1 100 Continue\r\n\r\n${OK('final')}`))
  const res = await get(proxy, '/fault')
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'final')
  assert.doesNotMatch(res.head, /100 Continue/)
  // Also when the 100 and the final response arrive in separate reads, and on a reused connection.
  await stillServing(proxy)
  const split = await rawBackend((req) => {
    if (!req.line.includes(' /fault')) return okReply(req)
    req.socket.write('HTTP/1.1 100 Continue\r\n\r\n')
    setImmediate(() => req.socket.write(OK('later')))
  })
  const proxy2 = await proxyFor(t, split, { keepAlive: { connections: 1 } })
  await stillServing(proxy2)
  const res2 = await get(proxy2, '/fault')
  assert.equal(res2.status, 200)
  assert.equal(res2.body.toString(), 'later')
  await stillServing(proxy2)
  assert.equal(split.connections, 1)
  assert.equal(backend.connections, 1)
})

test('101 without an upgrade request → 502, the client connection is not hijacked', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\nConnection: upgrade\r\n\r\nRAW BYTES'))
  const c = await RawClient.open(proxy.port)
  c.write('GET /fault HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.equal((await c.response()).status, 502)
  c.write('GET /next HTTP/1.1\r\nHost: a\r\n\r\n') // same client connection still speaks HTTP
  assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1')
  c.destroy()
  logged(proxy, /upstream request failed/)
})

test('204/304 with a body: the client gets a clean 204/304 and nothing of the body leaks', T, async (t) => {
  for (const status of ['204 No Content', '304 Not Modified']) {
    await t.test(status, async (t) => {
      const { backend, proxy } = await faulty(t, (req) => req.socket.write(`HTTP/1.1 ${status}\r\nContent-Length: 5\r\n\r\nhello`))
      const c = await RawClient.open(proxy.port)
      c.write('GET /fault HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n')
      const res = await c.response()
      assert.equal(res.status, Number(status.slice(0, 3)))
      assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1') // not "hello…"
      c.destroy()
      for (let i = 0; i < 2; i++) await stillServing(proxy)
      assert.ok(backend.connections >= 2, 'the connection with leftover bytes was not reused')
    })
  }
})

test('HEAD: Content-Length passes through, no body, the connection stays in sync', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'))
  const c = await RawClient.open(proxy.port)
  c.write('HEAD /fault HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n')
  const head = await c.response({ head: true })
  assert.equal(head.header('content-length'), '1234')
  assert.equal((await c.response()).body.toString(), 'GET /next HTTP/1.1')
  c.destroy()
})

test('an upstream that closes, resets or stalls after its head, before any body byte → 502/504: nothing was sent yet (plain, cached and hooked routes, both fronts)', T, async (t) => {
  for (const fastFront of [true, false]) {
    for (const [label, fault, status] of [
      ['close', (req: SeenRequest) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 502],
      ['close, chunked', (req: SeenRequest) => req.socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), 502],
      ['reset', (req: SeenRequest) => { req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'); setImmediate(() => req.socket.resetAndDestroy()) }, 502],
      ['stall past bodyIdle', (req: SeenRequest) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 504],
    ] as const) {
      await t.test(`${label} (fastFront: ${fastFront})`, async (t) => {
        const backend = await rawBackend((req) => (req.line.includes(' /fault') || req.line.includes(' /cached/fault') || req.line.includes(' /hooked/fault') ? fault(req) : okReply(req)))
        const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 }, timeouts: { responseHeaders: 300, bodyIdle: 300 } }, {
          server: { fastFront },
          routes: [
            { match: { path: '/cached/*' }, to: 'b', cache: { ttl: '1m' } },
            { match: { path: '/hooked/*' }, to: 'b', hooks: { onError: (_ctx, err) => new Response(`hooked ${err.status}`, { status: err.status }) } },
          ],
        })
        const plain = await get(proxy, '/fault')
        assert.equal(plain.status, status)
        assert.doesNotMatch(plain.head, /content-length: 10/i) // not the upstream's head
        logged(proxy, status === 504 ? /body idle timeout/ : /closed the connection|reset/)
        const cached = await get(proxy, '/cached/fault')
        assert.equal(cached.status, status)
        assert.match(cached.head, /cache-status: switchyard; fwd=uri-miss/i)
        const hooked = await get(proxy, '/hooked/fault')
        assert.equal(hooked.status, status)
        assert.equal(hooked.body.toString(), `hooked ${status}`)
        await stillServing(proxy)
      })
    }
  }
})

test('a head the client\'s response cannot carry → 502, on both fronts: a status an onUpstreamResponse hook set out of range, an upstream status a cached hooked route refuses', T, async (t) => {
  for (const fastFront of [true, false]) {
    for (const body of ['ok', '']) {
      await t.test(`fastFront: ${fastFront}, body: ${JSON.stringify(body)}`, async (t) => {
        const backend = await rawBackend((req) => req.socket.write(req.line.includes(' /600')
          ? `HTTP/1.1 600 Odd\r\ncontent-length: ${body.length}\r\n\r\n${body}`
          : req.line.includes(' /next') ? OK('GET /next HTTP/1.1') : OK(body)))
        const proxy = await proxyFor(t, backend, {}, {
          server: { fastFront },
          routes: [
            { match: { path: '/status' }, to: 'b', hooks: { onUpstreamResponse: (_ctx, res) => void (res.status = 1000) } },
            { match: { path: '/600' }, to: 'b', cache: { ttl: '1m' }, hooks: { onError: (_ctx, err) => new Response(`hooked ${err.status}`, { status: err.status }) } },
          ],
        })
        assert.equal((await get(proxy, '/status')).status, 502)
        const refused = await get(proxy, '/600')
        assert.equal(refused.status, 502)
        assert.equal(refused.body.toString(), 'hooked 502')
        await stillServing(proxy)
      })
    }
  }
})

test('a body that stalls longer than bodyIdle → the client response is aborted, logged', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel'))
  const partial = await getAborted(proxy, '/fault')
  assert.match(partial, /\r\n\r\nhel$/)
  logged(proxy, /after response started/)
  await stillServing(proxy)
})

test('a Transfer-Encoding other than chunked from the upstream → 502 (never passed on as a plain body)', T, async (t) => {
  for (const coding of ['gzip', 'gzip, chunked', 'identity']) {
    await t.test(coding, async (t) => {
      const { proxy } = await faulty(t, (req) => req.socket.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: ${coding}\r\n\r\n${coding.endsWith('chunked') ? '5\r\nGZIPD\r\n0\r\n\r\n' : 'GZIPPEDBYTES'}`))
      const res = await get(proxy, '/fault')
      assert.equal(res.status, 502)
      assert.doesNotMatch(res.body.toString(), /GZIP/)
      logged(proxy, /Transfer-Encoding/)
      await stillServing(proxy)
    })
  }
})

test('heads the proxy refuses on top of llhttp → 502: a version other than 1.x, Transfer-Encoding twice, more than 100 fields, a head of many tiny fields over the limit', T, async (t) => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `a${i}: b\r\n`).join('')
  const heads: Array<[string, string]> = [
    ['HTTP/2.0', 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ['HTTP/0.9', 'HTTP/0.9 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ['Transfer-Encoding twice', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
    ['101 fields', `HTTP/1.1 200 OK\r\n${fields(100)}Content-Length: 2\r\n\r\nok`],
    ['20000 tiny fields', `HTTP/1.1 200 OK\r\n${'a:b\r\n'.repeat(20_000)}Content-Length: 2\r\n\r\nok`],
  ]
  for (const [label, bytes] of heads) {
    await t.test(label, async (t) => {
      const { proxy } = await faulty(t, (req) => req.socket.write(bytes))
      const res = await get(proxy, '/fault')
      assert.equal(res.status, 502, label)
      logged(proxy, /upstream request failed/)
      await stillServing(proxy)
    })
  }
  // 100 fields are fine.
  const { proxy } = await faulty(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\n${fields(99)}Content-Length: 2\r\n\r\nok`))
  const res = await get(proxy, '/fault')
  assert.equal(res.status, 200)
  assert.equal(res.header('a98'), 'b')
})

test('an upstream sending interim (1xx) responses without end → 502 after 10 of them, not a wait for the head timeout', { timeout: 60_000 }, async (t) => {
  const backend = await rawBackend((req) => {
    if (!req.line.includes(' /fault')) return okReply(req)
    const flood = (): void => {
      if (req.socket.destroyed) return
      req.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'.repeat(8), () => setImmediate(flood))
    }
    flood()
  })
  // A head timeout far beyond the test's own timeout: only the interim limit can end the request in time.
  const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 }, timeouts: { responseHeaders: 600_000 } })
  const c = await RawClient.open(proxy.port)
  c.write('GET /fault HTTP/1.1\r\nHost: a\r\n\r\n')
  const statuses: number[] = []
  for (;;) {
    const res = await c.response()
    statuses.push(res.status)
    if (res.status >= 200) break
  }
  c.destroy()
  assert.deepEqual(statuses, [...Array<number>(10).fill(103), 502]) // the first 10 are passed on
  logged(proxy, /interim/)
  await stillServing(proxy)
})

test('an HTTP/1.0 response with Transfer-Encoding is delivered and its connection not reused (RFC 9112 §6.1)', T, async (t) => {
  const { backend, proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'))
  assert.equal((await get(proxy, '/fault')).body.toString(), 'ok')
  await stillServing(proxy)
  assert.equal(backend.connections, 2)
})

test('a 204 from the upstream reaches the client without its Content-Length (RFC 9110 §8.6)', T, async (t) => {
  const { proxy } = await faulty(t, (req) => req.socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n'))
  const res = await get(proxy, '/fault')
  assert.equal(res.status, 204)
  assert.equal(res.header('x-a'), '1')
  assert.equal(res.header('content-length'), undefined)
  await stillServing(proxy)
})

test('interim responses on a cached route and a hooked route: passed on for a miss, never stored (a hit has none)', T, async (t) => {
  let fetched = 0
  const backend = await rawBackend((req) => {
    if (!req.line.includes(' /fault')) return okReply(req)
    fetched++
    req.socket.write(`HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nCache-Control: max-age=600\r\nContent-Length: 5\r\n\r\nfinal`)
  })
  const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 } }, {
    routes: [
      { match: { path: '/fault/cached' }, to: 'b', cache: true },
      { match: { path: '/fault/hooked' }, to: 'b', hooks: { onRequest: () => undefined, onResponse: () => undefined } },
    ],
  } as never)
  for (const [path, expected] of [['/fault/cached', [103, 200]], ['/fault/cached', [200]], ['/fault/hooked', [103, 200]]] as const) {
    const c = await RawClient.open(proxy.port)
    c.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
    const statuses: number[] = []
    for (;;) {
      const res = await c.response()
      statuses.push(res.status)
      if (res.status >= 200) {
        assert.equal(res.body.toString(), 'final', `${path} ${JSON.stringify(proxy.log.lines.map((l) => [l.message, l.fields]))}`)
        break
      }
    }
    c.destroy()
    assert.deepEqual(statuses, expected, `${path} ${JSON.stringify(proxy.log.lines.map((l) => l.message))}`)
  }
  assert.equal(fetched, 2)
})

test('an interim response ends with its head whatever its Content-Length or Transfer-Encoding say (RFC 9112 §6.3); those are not passed on', T, async (t) => {
  for (const interim of ['HTTP/1.1 150 Foo\r\nContent-Length: 5\r\n\r\n', 'HTTP/1.1 199 X\r\nTransfer-Encoding: chunked\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\n\r\n']) {
    const { proxy } = await faulty(t, (req) => req.socket.write(`${interim}${OK('final')}`))
    const c = await RawClient.open(proxy.port)
    c.write('GET /fault HTTP/1.1\r\nHost: a\r\n\r\n')
    const first = await c.response()
    assert.ok(first.status >= 100 && first.status < 200, interim)
    assert.equal(first.header('content-length'), undefined)
    assert.equal(first.header('transfer-encoding'), undefined)
    const res = await c.response()
    assert.equal(res.status, 200)
    assert.equal(res.body.toString(), 'final')
    c.destroy()
    await stillServing(proxy)
  }
})

test('trailers of a chunked response never become header fields (RFC 9110 §6.5.1), even with no body chunk before them: dropped, on plain, cached and hooked routes, both fronts', T, async (t) => {
  const trailers = 'X-T1: a\r\nSet-Cookie: evil=1\r\nContent-Type: text/evil\r\nX-T4: d\r\n\r\n'
  for (const fastFront of [true, false]) {
    const backend = await rawBackend((req) => {
      const empty = req.line.includes('/empty')
      req.socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n${empty ? '' : '2\r\nok\r\n'}0\r\n${trailers}`)
    })
    const proxy = await proxyFor(t, backend, {}, {
      server: { fastFront },
      routes: [
        { match: { path: '/cached/*' }, to: 'b', cache: { ttl: '1m' } },
        { match: { path: '/hooked/*' }, to: 'b', hooks: { onResponse: () => undefined } },
      ],
    })
    for (const path of ['/empty', '/full', '/cached/empty', '/cached/empty', '/hooked/empty']) {
      const res = await get(proxy, path)
      assert.equal(res.status, 200, path)
      assert.equal(res.body.toString(), path.includes('empty') ? '' : 'ok', path)
      assert.doesNotMatch(res.head, /x-t1|x-t4|set-cookie|text\/evil/i, `fastFront ${fastFront} ${path}: ${res.head}`)
      assert.match(res.head, /content-type: text\/plain/i)
    }
  }
})

test('a route whose onResponse hook wraps or transforms the upstream body: an upstream that closes or stalls after its head, before any body byte → 502/504, not a cut (both fronts)', T, async (t) => {
  const hooks = {
    // A new Response around the upstream's (unread) body: sent on without Web streams (sendDirect).
    wrap: (_ctx: unknown, res: Response) => new Response(res.body, { status: res.status, headers: { 'x-wrapped': '1' } }),
    // Its body through a TransformStream: read as a Web stream (sendWebResponse).
    transform: (_ctx: unknown, res: Response) => new Response(res.body!.pipeThrough(new TransformStream()), { status: res.status, headers: { 'x-wrapped': '1' } }),
  }
  for (const [kind, onResponse] of Object.entries(hooks)) for (const fastFront of [true, false]) {
    for (const [label, fault, status] of [
      ['close', (req: SeenRequest) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 502],
      ['stall past bodyIdle', (req: SeenRequest) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'), 504],
    ] as const) {
      const backend = await rawBackend((req) => (req.line.includes(' /fault') ? fault(req) : okReply(req)))
      const proxy = await proxyFor(t, backend, { keepAlive: { connections: 1 }, timeouts: { responseHeaders: 300, bodyIdle: 300 } }, {
        server: { fastFront },
        routes: [{ match: { path: '/*' }, to: 'b', hooks: { onResponse } }],
      } as never)
      const res = await get(proxy, '/fault')
      assert.equal(res.status, status, `${kind}, ${label} (fastFront ${fastFront})`)
      assert.doesNotMatch(res.head, /x-wrapped/i, 'not the wrapped head')
      await stillServing(proxy)
    }
  }
})

test('an onResponse hook setting a header value Node refuses (a control character Fetch allows) gets the client a 500; the proxy keeps serving (forward and cached routes, both fronts)', T, async (t) => {
  for (const fastFront of [true, false]) {
    const backend = await rawBackend()
    const proxy = await proxyFor(t, backend, {}, {
      server: { fastFront },
      routes: [
        { match: { path: '/cached/*' }, to: 'b', cache: { ttl: '1m' }, hooks: { onResponse: (_ctx, res) => { res.headers.set('x-a', 'a\x01b'); return res } } },
        { match: { path: '/fault' }, to: 'b', hooks: { onResponse: (_ctx, res) => { res.headers.set('x-a', 'a\x01b'); return res } } },
      ],
    })
    for (const path of ['/fault', '/cached/fault', '/cached/fault']) {
      const res = await get(proxy, path)
      assert.equal(res.status, 500, `${path} (fastFront ${fastFront})`)
      assert.doesNotMatch(res.head, /x-a/i)
    }
    await stillServing(proxy)
  }
})

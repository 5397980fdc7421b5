import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { execFile } from 'node:child_process'
import { startProxy, startBackend, type TestProxy } from '../helpers/servers.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { configProblems } from '../helpers/config-problems.js'
import { wsUpstream, wsConnect, refusal, nextMessage, closed, until, type WsUpstream } from './ws-kit.js'

const T = { timeout: 20_000 }

async function proxyFor(t: { after(fn: () => unknown): void }, config: SwitchyardConfig): Promise<TestProxy> {
  const proxy = await startProxy(config)
  t.after(() => proxy.close())
  return proxy
}

async function upstream(t: { after(fn: () => unknown): void }, ...args: Parameters<typeof wsUpstream>): Promise<WsUpstream> {
  const server = await wsUpstream(...args)
  t.after(() => server.close())
  return server
}

function header(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) return raw[i + 1]
  return undefined
}

test('a WebSocket through the proxy: 101, text both ways, subprotocol and deflate negotiated, forwarding headers, one access record at close', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ name: 'ws', to: 'a' }] })
  let switched: IncomingMessage | undefined
  const client = await wsConnect(`${proxy.url}/chat?room=1`, { protocols: ['chat'], onUpgrade: (res) => (switched = res) })
  assert.equal(client.protocol, 'chat')
  assert.match(client.extensions, /permessage-deflate/)
  assert.equal(switched!.statusCode, 101)
  assert.equal(switched!.headers.connection, 'Upgrade')
  assert.equal(switched!.headers.upgrade, 'websocket')

  const hs = up.handshakes[0]!
  assert.equal(hs.url, '/chat?room=1')
  assert.equal(header(hs, 'host'), `127.0.0.1:${proxy.port}`)
  assert.equal(header(hs, 'x-forwarded-for'), '127.0.0.1')
  assert.equal(header(hs, 'x-forwarded-host'), `127.0.0.1:${proxy.port}`)
  assert.equal(header(hs, 'connection')?.toLowerCase(), 'upgrade')
  assert.ok(header(hs, 'sec-websocket-key'))

  for (const text of ['hello', 'again', 'é ✓']) {
    const reply = nextMessage(client)
    client.send(text)
    const { data, binary } = await reply
    assert.equal(binary, false)
    assert.equal(data.toString(), `a:${text}`)
  }
  assert.equal(proxy.log.accesses.length, 0, 'no record while the tunnel is open')
  client.close(1000, 'bye')
  assert.deepEqual(await closed(client), { code: 1000, reason: 'bye' })
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  const record = proxy.log.accesses[0]!
  assert.equal(record.status, 101)
  assert.equal(record.route, 'ws')
  assert.equal(record.upstream, up.url)
  assert.equal(record.target, '/chat?room=1')
  assert.equal(record.error, undefined)
  assert.ok(record.bytes > 0 && record.bytesIn! > 0, `bytes both ways: ${record.bytes} / ${record.bytesIn}`)
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
})

test('binary frames and large messages (1 MiB text, 8 MiB binary) arrive intact both ways', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a' }] })
  const client = await wsConnect(proxy.url, { deflate: false })
  const bin = Buffer.from([0, 1, 2, 255, 254, 0])
  let reply = nextMessage(client)
  client.send(bin, { binary: true })
  assert.deepEqual(await reply, { data: bin, binary: true })

  const text = 'x'.repeat(1024 * 1024 - 7) + 'the end'
  reply = nextMessage(client)
  client.send(text)
  assert.equal((await reply).data.toString(), `a:${text}`)

  const big = Buffer.alloc(8 * 1024 * 1024)
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i)
  reply = nextMessage(client)
  client.send(big, { binary: true })
  const echoed = await reply
  assert.equal(echoed.data.length, big.length)
  assert.ok(echoed.data.equals(big))
  client.close()
  await closed(client)
})

test('the upstream closes: the client gets its close code and reason', T, async (t) => {
  const up = await upstream(t, 'a', { onOpen: (s) => s.on('message', (m: Buffer) => m.toString() === 'kick' && s.close(4001, 'kicked')) })
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a' }] })
  const client = await wsConnect(proxy.url)
  client.send('kick')
  assert.deepEqual(await closed(client), { code: 4001, reason: 'kicked' })
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.log.accesses[0]!.status, 101)
})

test('a client that vanishes (no close frame) closes the upstream side too', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a' }] })
  const client = await wsConnect(proxy.url)
  await until(() => up.sockets.size === 1, 'the upstream socket')
  const [server] = up.sockets
  const serverClosed = closed(server!)
  client.terminate()
  assert.equal((await serverClosed).code, 1006)
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
})

test('the upstream refuses the handshake: its response is relayed and the connection closed', T, async (t) => {
  const body = 'origin not allowed\n'
  const up = await upstream(t, 'a', {
    refuse: () => `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nx-reason: origin\r\n\r\n${body}`,
  })
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a', headers: { response: { set: { 'x-proxy': 'sy' } } } }] })
  const refused = await refusal(proxy.url)
  assert.equal(refused.status, 403)
  assert.equal(refused.body, body)
  assert.equal(refused.headers['x-reason'], 'origin')
  assert.equal(refused.headers['x-proxy'], 'sy')
  assert.equal(refused.headers.connection, 'close')
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.log.accesses[0]!.status, 403)
  assert.equal(proxy.log.accesses[0]!.bytesIn, undefined)
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
})

test('upstream down → 502, no server → 503, slow handshake → 504, each logged like forwarding', T, async (t) => {
  const gone = await startBackend(() => {})
  const deadUrl = gone.url
  await gone.close()
  const slow = await upstream(t, 'slow', { hold: true })
  const proxy = await proxyFor(t, {
    upstreams: {
      dead: { servers: [deadUrl] },
      off: { servers: [{ url: deadUrl, down: true }] },
      slow: { servers: [slow.url], timeouts: { responseHeaders: 100 } },
    },
    routes: [{ match: { path: '/dead' }, to: 'dead' }, { match: { path: '/off' }, to: 'off' }, { match: { path: '/slow' }, to: 'slow' }],
  })
  assert.equal((await refusal(`${proxy.url}/dead`)).status, 502)
  assert.ok(proxy.log.lines.some((l) => l.level === 'error' && l.message === 'upstream request failed: upstream connection refused'))
  const off = await refusal(`${proxy.url}/off`)
  assert.equal(off.status, 503)
  assert.equal(off.headers['retry-after'], '1')
  assert.equal((await refusal(`${proxy.url}/slow`)).status, 504)
  assert.ok(proxy.log.lines.some((l) => l.message === 'upstream request failed: upstream response header timeout'))
  await until(() => proxy.log.accesses.length === 3, 'three access records')
  assert.deepEqual(proxy.log.accesses.map((r) => r.status), [502, 503, 504])
  assert.equal(proxy.runtime.states.get(slow.url).inflight, 0)
})

test('routing: host and path pick the upstream; no route → 404; non-forward routes answer as usual', T, async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const proxy = await proxyFor(t, {
    upstreams: { a: { servers: [a.url] }, b: { servers: [b.url] } },
    routes: [
      { match: { host: 'chat.example' }, to: 'b' },
      { match: { path: '/a/*' }, to: 'a', rewrite: { stripPrefix: '/a' } },
      { match: { path: '/hello' }, respond: { status: 200, body: 'hi' } },
      { match: { path: '/old' }, redirect: '/a/new' },
    ],
  })
  const viaPath = await wsConnect(`${proxy.url}/a/room`)
  let reply = nextMessage(viaPath)
  viaPath.send('x')
  assert.equal((await reply).data.toString(), 'a:x')
  assert.equal(a.handshakes[0]!.url, '/room')

  const viaHost = await wsConnect(`${proxy.url}/anything`, { headers: { host: 'chat.example' } })
  reply = nextMessage(viaHost)
  viaHost.send('y')
  assert.equal((await reply).data.toString(), 'b:y')
  assert.equal(header(b.handshakes[0]!, 'host'), 'chat.example')

  const missing = await refusal(`${proxy.url}/nowhere`)
  assert.equal(missing.status, 404)
  assert.match(missing.body, /no route matches GET 127\.0\.0\.1\/nowhere/)
  const responded = await refusal(`${proxy.url}/hello`)
  assert.equal(responded.status, 200)
  assert.equal(responded.body, 'hi')
  const redirected = await refusal(`${proxy.url}/old`)
  assert.equal(redirected.status, 302)
  assert.equal(redirected.headers.location, '/a/new')
  viaPath.close()
  viaHost.close()
  await Promise.all([closed(viaPath), closed(viaHost)])
})

test('onRequest can refuse a WebSocket (401) or let it through with headers it set; onLog sees the tunnel', T, async (t) => {
  const up = await upstream(t, 'a')
  const logged: Array<{ status: number; bytesIn?: number }> = []
  const proxy = await proxyFor(t, {
    upstreams: { a: { servers: [up.url] } },
    routes: [{
      to: 'a',
      hooks: {
        onRequest: (ctx) => {
          if (ctx.headers.get('authorization') !== 'Bearer ok') return new Response('who are you?\n', { status: 401, headers: { 'www-authenticate': 'Bearer' } })
          ctx.headers.set('x-user', 'ada')
          return undefined
        },
        onResponse: (_ctx, res) => {
          res.headers.set('x-seen', 'onResponse')
          return undefined
        },
        onLog: (_ctx, record) => void logged.push({ status: record.status, bytesIn: record.bytesIn }),
      },
    }],
  })
  const refused = await refusal(proxy.url)
  assert.equal(refused.status, 401)
  assert.equal(refused.body, 'who are you?\n')
  assert.equal(refused.headers['www-authenticate'], 'Bearer')
  assert.equal(refused.headers['x-seen'], 'onResponse')
  assert.equal(up.handshakes.length, 0, 'nothing reached the upstream')

  const client = await wsConnect(proxy.url, { headers: { authorization: 'Bearer ok' } })
  assert.equal(header(up.handshakes[0]!, 'x-user'), 'ada')
  assert.equal(header(up.handshakes[0]!, 'upgrade'), 'websocket')
  const reply = nextMessage(client)
  client.send('hi')
  assert.equal((await reply).data.toString(), 'a:hi')
  client.close()
  await closed(client)
  await until(() => logged.length === 2, 'onLog twice')
  assert.equal(logged[0]!.status, 401)
  assert.equal(logged[1]!.status, 101)
  assert.ok(logged[1]!.bytesIn! > 0)
})

test('tunnels are balanced across the group (round robin) and a connect error is retried on the next server', T, async (t) => {
  const a = await upstream(t, 'a')
  const b = await upstream(t, 'b')
  const gone = await startBackend(() => {})
  const deadUrl = gone.url
  await gone.close()
  const proxy = await proxyFor(t, {
    upstreams: { pair: { servers: [a.url, b.url] }, flaky: { servers: [deadUrl, a.url], passive: false } },
    routes: [{ match: { path: '/flaky' }, to: 'flaky' }, { to: 'pair' }],
  })
  const names: string[] = []
  const clients = []
  for (let i = 0; i < 4; i++) {
    const client = await wsConnect(proxy.url)
    const reply = nextMessage(client)
    client.send('who')
    names.push((await reply).data.toString())
    clients.push(client)
  }
  assert.deepEqual(names.sort(), ['a:who', 'a:who', 'b:who', 'b:who'])
  for (let i = 0; i < 2; i++) {
    const client = await wsConnect(`${proxy.url}/flaky`)
    clients.push(client)
  }
  assert.ok(proxy.log.lines.some((l) => l.level === 'warn' && l.message === `retrying: upstream connection refused (${deadUrl})`))
  for (const c of clients) c.close()
  await Promise.all(clients.map(closed))
})

test('a refused handshake with a status listed in retry `on` (403) is retried on the next server; failOn counts it', T, async (t) => {
  const a = await upstream(t, 'a', { refuse: () => 'HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n' })
  const b = await upstream(t, 'b')
  const proxy = await proxyFor(t, {
    upstreams: { g: { servers: [a.url, b.url], balance: 'first', retry: { on: [403] }, passive: { maxFails: 1, failTimeout: '30s', failOn: [403] } } },
    routes: [{ to: 'g' }],
  })
  const client = await wsConnect(proxy.url)
  const reply = nextMessage(client)
  client.send('who')
  assert.equal((await reply).data.toString(), 'b:who')
  assert.equal(a.handshakes.length, 1)
  assert.equal(proxy.runtime.states.get(a.url).ejections, 1)
  client.close()
  await closed(client)
})

test('maxConns counts open tunnels: the next one queues, and gets the slot when a tunnel closes', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, {
    upstreams: {
      one: { servers: [{ url: up.url, maxConns: 1 }], queue: { size: 5, timeout: '10s' } },
      strict: { servers: [{ url: up.url, maxConns: 1 }], queue: { size: 0, timeout: 0 } },
    },
    routes: [{ match: { path: '/strict' }, to: 'strict' }, { to: 'one' }],
  })
  const first = await wsConnect(proxy.url)
  assert.equal(proxy.runtime.states.get(up.url).inflight, 1)
  assert.equal((await refusal(`${proxy.url}/strict`)).status, 503, 'the same server is full for the other group too')
  const second = wsConnect(proxy.url)
  const group = proxy.runtime.generation.groups.get('one')!
  await until(() => group.queued === 1, 'the queued handshake')
  first.close()
  const opened = await second
  const reply = nextMessage(opened)
  opened.send('in')
  assert.equal((await reply).data.toString(), 'a:in')
  opened.close()
  await closed(opened)
  await until(() => proxy.runtime.states.get(up.url).inflight === 0, 'inflight back to 0')
})

test('an idle tunnel is closed after timeouts.tunnelIdle and logged as such', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url], timeouts: { tunnelIdle: '150ms' } } }, routes: [{ to: 'a' }] })
  const client = await wsConnect(proxy.url)
  const reply = nextMessage(client)
  client.send('still here')
  assert.equal((await reply).data.toString(), 'a:still here')
  assert.equal((await closed(client)).code, 1006)
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.log.accesses[0]!.error, 'tunnel idle for 150ms')
})

test('a tunnel survives a reload; graceful shutdown closes it once the drain timeout is over', T, async (t) => {
  const up = await upstream(t, 'a')
  const config: SwitchyardConfig = { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a' }] }
  const proxy = await startProxy(config)
  let stopped = false
  t.after(() => stopped || proxy.close())
  const client = await wsConnect(proxy.url)
  await proxy.runtime.load(resolveConfig({ ...config, routes: [{ match: { path: '/other' }, to: 'a' }], listen: { host: '127.0.0.1', port: 0 } }, 'start'))
  let reply = nextMessage(client)
  client.send('after reload')
  assert.equal((await reply).data.toString(), 'a:after reload')
  const clientClosed = closed(client)
  const shutdown = proxy.runtime.close(150)
  reply = nextMessage(client)
  client.send('while draining')
  assert.equal((await reply).data.toString(), 'a:while draining')
  assert.equal((await clientClosed).code, 1006)
  await shutdown
  stopped = true
  await until(() => up.sockets.size === 0, 'the upstream side closed')
})

test('header rules of the route apply to the handshake both ways', T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, {
    upstreams: { a: { servers: [up.url], host: 'upstream' } },
    routes: [{ to: 'a', headers: { request: { set: { 'x-via': 'switchyard' }, remove: ['cookie'] }, response: { set: { 'x-tunnel': 'yes' } } } }],
  })
  let switched: IncomingMessage | undefined
  const client = await wsConnect(proxy.url, { headers: { cookie: 'secret=1' }, onUpgrade: (res) => (switched = res) })
  const hs = up.handshakes[0]!
  assert.equal(header(hs, 'x-via'), 'switchyard')
  assert.equal(header(hs, 'cookie'), undefined)
  assert.equal(header(hs, 'host'), new URL(up.url).host)
  assert.equal(switched!.headers['x-tunnel'], 'yes')
  client.close()
  await closed(client)
})

test("Node's own WebSocket client (undici, --experimental-websocket on Node 20) works through the proxy", T, async (t) => {
  const up = await upstream(t, 'a')
  const proxy = await proxyFor(t, { upstreams: { a: { servers: [up.url] } }, routes: [{ to: 'a' }] })
  const script = `
    const ws = new WebSocket(process.argv[1], ['chat'])
    ws.onopen = () => ws.send('from undici')
    ws.onmessage = (e) => { console.log(ws.protocol + ' ' + e.data); ws.close(1000) }
    ws.onclose = (e) => console.log('closed ' + e.code)
    ws.onerror = () => { console.log('error'); process.exitCode = 1 }`
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', script, proxy.url.replace('http', 'ws') + '/node'], { timeout: 10_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)))
  })
  assert.equal(out, 'chat a:from undici\nclosed 1000\n')
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.log.accesses[0]!.status, 101)
})

test('timeouts.tunnelIdle: default 1h, a duration, 0 for never; anything else is a config error', () => {
  const idle = (timeouts?: Record<string, unknown>) =>
    resolveConfig({ upstreams: { a: { servers: ['http://127.0.0.1:1'], ...(timeouts ? { timeouts } : {}) } }, routes: [{ to: 'a' }] }, 'start')
      .upstreams.get('a')!.timeouts.tunnelIdle
  assert.equal(idle(), 3_600_000)
  assert.equal(idle({ tunnelIdle: '90s' }), 90_000)
  assert.equal(idle({ tunnelIdle: 0 }), 0)
  assert.match(configProblems({ upstreams: { a: { servers: ['http://127.0.0.1:1'], timeouts: { tunnelIdle: 'soon' } } }, routes: [{ to: 'a' }] }), /upstreams\.a\.timeouts\.tunnelIdle/)
})

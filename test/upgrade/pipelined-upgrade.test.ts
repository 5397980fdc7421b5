// An Upgrade request pipelined behind a request still being answered. node:http emits 'upgrade'
// at once (it queues only plain requests' responses): the proxy must wait until the earlier
// response is written before it answers, tunnels, or serves the upgrade as a plain request.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Socket } from 'node:net'
import type { Middleware } from '../../src/config/hooks.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { TestProxy } from '../helpers/servers.js'
import { until } from './ws-kit.js'
import { proxyFor, rawUpstream, handshake, client, type RawUpstream } from './raw-kit.js'

const T = { timeout: 20_000 }

const SLOW = 'GET /slow HTTP/1.1\r\nHost: app.test\r\n\r\n'
const SLOW_RESPONSE = 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nSLOW'

interface HeldUpstream extends RawUpstream {
  /** Resolves once the request for /slow is at the upstream (unanswered). */
  arrived: Promise<void>
  /** Answers /slow (`body` bytes of 'a' instead of `SLOW` when given). */
  release(body?: number): void
}

/** An upstream holding `GET /slow` until released; every other request goes to `answer`. */
async function heldUpstream(t: { after(fn: () => unknown): void }, answer: (socket: Socket, head: string) => void): Promise<HeldUpstream> {
  let held: Socket | undefined
  let arrive!: () => void
  const arrived = new Promise<void>((resolve) => (arrive = resolve))
  const up = await rawUpstream(t, (socket, head) => {
    if (!head.startsWith('GET /slow ')) return answer(socket, head)
    held = socket
    arrive()
  })
  const release = (body?: number): void => {
    if (body === undefined) return void held!.write(SLOW_RESPONSE)
    held!.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body}\r\n\r\n`)
    held!.write(Buffer.alloc(body, 'a'))
  }
  return { ...up, arrived, release }
}

/** Switches with `WELCOME`, then echoes upper-cased. */
function switching(socket: Socket): void {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/1\r\nConnection: upgrade\r\n\r\nWELCOME')
  socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()))
}

function refusing(socket: Socket): void {
  socket.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 6\r\n\r\nDENIED')
}

/** Sends /slow and the upgrade in one packet; resolves once /slow is held at the upstream. */
async function pipelined(t: { after(fn: () => unknown): void }, proxy: TestProxy, up: HeldUpstream, path: string) {
  const c = await client(t, proxy.port)
  c.socket.write(SLOW + handshake(path))
  await up.arrived
  return c
}

function accesses(proxy: TestProxy): string[] {
  return proxy.log.accesses.map((a) => `${a.target} ${a.status}${a.error ? ` ${a.error}` : ''}`)
}

function closable(closed: string[]): Middleware {
  return { name: 'holder', close: () => void closed.push('holder') }
}

/** Loads a config without the middleware: the old generation retires once its requests are over. */
async function reload(proxy: TestProxy, config: SwitchyardConfig): Promise<void> {
  await proxy.runtime.load(resolveConfig({ ...config, use: [], listen: { host: '127.0.0.1', port: 0 } }, 'start'))
}

test('the upstream switches: its 101 follows the earlier response, and the tunnel works', T, async (t) => {
  const up = await heldUpstream(t, switching)
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await pipelined(t, proxy, up, '/ws')
  assert.equal(up.conns.length, 1, 'the upgrade is not sent upstream before the earlier response is out')
  up.release()
  await until(() => c.text().endsWith('WELCOME'), 'the 101')
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nSLOWHTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*\r\n\r\nWELCOME$/)
  c.socket.write('ping')
  await until(() => c.text().endsWith('PING'), 'the echo')
  c.socket.end()
  await c.closed
  await until(() => proxy.log.accesses.length === 2, 'both records')
  assert.deepEqual(accesses(proxy), ['/slow 200', '/ws 101'])
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
})

test('the upstream refuses: its answer follows the earlier response, then the connection closes', T, async (t) => {
  const up = await heldUpstream(t, refusing)
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await pipelined(t, proxy, up, '/ws')
  up.release()
  await c.ended
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nSLOWHTTP\/1\.1 403 Forbidden\r\n[\s\S]*\r\nconnection: close\r\n\r\nDENIED$/i)
  await until(() => proxy.log.accesses.length === 2, 'both records')
  assert.deepEqual(accesses(proxy), ['/slow 200', '/ws 403'])
})

test('no server answers (502): the error follows the earlier response (no crash)', T, async (t) => {
  const up = await heldUpstream(t, refusing)
  const proxy = await proxyFor(t, {
    upstreams: { u: { servers: [up.url] }, dead: { servers: ['http://127.0.0.1:1'] } },
    routes: [{ match: { path: '/dead' }, to: 'dead' }, { to: 'u' }],
  })
  const c = await pipelined(t, proxy, up, '/dead')
  up.release()
  await c.ended
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nSLOWHTTP\/1\.1 502 Bad Gateway\r\n/)
  await until(() => proxy.log.accesses.length === 2, 'both records')
  assert.deepEqual(accesses(proxy), ['/slow 200', '/dead 502 upstream connection refused'])
})

test("a hook's refusal follows the earlier response, and the old config retires after both", T, async (t) => {
  const up = await heldUpstream(t, switching)
  const closed: string[] = []
  const config: SwitchyardConfig = {
    use: [closable(closed)],
    upstreams: { u: { servers: [up.url] } },
    routes: [
      { match: { path: '/auth' }, to: 'u', hooks: { onRequest: () => new Response('no', { status: 401 }) } },
      { to: 'u' },
    ],
  }
  const proxy = await proxyFor(t, config)
  const c = await pipelined(t, proxy, up, '/auth')
  await reload(proxy, config)
  up.release()
  await c.ended
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nSLOWHTTP\/1\.1 401 Unauthorized\r\n[\s\S]*\r\n\r\n2\r\nno\r\n0\r\n\r\n$/)
  await until(() => proxy.log.accesses.length === 2, 'both records')
  assert.deepEqual(accesses(proxy), ['/slow 200', '/auth 401'])
  await until(() => closed.length === 1, 'the old config retired')
  assert.equal(up.conns.length, 1, 'the refused upgrade never went upstream')
})

test('served as a plain request: its answer follows the earlier one, keep-alive works, and the keep-alive timeout does not cut it', T, async (t) => {
  const up = await heldUpstream(t, refusing)
  const closed: string[] = []
  const config: SwitchyardConfig = {
    use: [closable(closed)],
    // The earlier response arms the keep-alive timer as it finishes (1 ms + Node's 1 s
    // keepAliveTimeoutBuffer); the handler takes longer than that.
    server: { keepAliveTimeout: '1ms' },
    upstreams: { u: { servers: [up.url] } },
    routes: [
      { match: { path: '/plain' }, handle: () => new Promise<Response>((resolve) => setTimeout(() => resolve(new Response('PLAIN')), 1100)) },
      { match: { path: '/next' }, respond: { status: 200, body: 'NEXT' } },
      { to: 'u' },
    ],
  }
  const proxy = await proxyFor(t, config)
  const c = await pipelined(t, proxy, up, '/plain')
  await reload(proxy, config)
  up.release()
  await until(() => c.text().endsWith('5\r\nPLAIN\r\n0\r\n\r\n'), 'the plain answer')
  assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nSLOWHTTP\/1\.1 200 OK\r\n[\s\S]*Connection: keep-alive\r\n/)
  c.socket.write('GET /next HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n')
  await c.ended
  assert.ok(c.text().endsWith('\r\n\r\nNEXT'), 'a third request on the same connection')
  await until(() => proxy.log.accesses.length === 3, 'three records')
  assert.deepEqual(accesses(proxy), ['/slow 200', '/plain 200', '/next 200'])
  await until(() => closed.length === 1, 'the old config retired')
})

test('an earlier response larger than the socket buffer is written in full before the upgrade is served', T, async (t) => {
  const up = await heldUpstream(t, switching)
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const size = 4 * 1024 * 1024
  const c = await pipelined(t, proxy, up, '/ws')
  up.release(size)
  await until(() => c.text().endsWith('WELCOME'), 'the whole response, then the 101')
  const at = c.text().indexOf('HTTP/1.1 101 ')
  assert.equal(c.text().slice(c.text().indexOf('\r\n\r\n') + 4, at), 'a'.repeat(size))
  c.socket.destroy()
  await until(() => proxy.log.accesses.length === 2, 'both records')
})

test('an earlier response that closes the connection: the upgrade is dropped, nothing goes upstream', T, async (t) => {
  const up = await heldUpstream(t, switching)
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url] } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(`TRACE / HTTP/1.1\r\nHost: app.test\r\n\r\n${handshake('/ws')}`) // 405, Connection: close
  await c.ended
  assert.match(c.text(), /^HTTP\/1\.1 405 /)
  assert.equal(c.text().split('HTTP/1.1 ').length, 2, 'one response')
  assert.equal(up.conns.length, 0)
  assert.deepEqual(proxy.log.accesses, [])
})

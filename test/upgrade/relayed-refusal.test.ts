// An upgrade the upstream answers without switching (a 403, a 426): its response is relayed
// like a forwarded one, under the same limits — a stalled body or a client that leaves never
// holds the connections, the server's slot or the config generation.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { TestProxy } from '../helpers/servers.js'
import type { UpstreamTimeouts } from '../../src/config/types.js'
import { until } from './ws-kit.js'
import { proxyFor, rawUpstream, handshake, client, type RawUpstream } from './raw-kit.js'

const T = { timeout: 20_000 }

/** An upstream that refuses with a 403 announcing 100 bytes of body, sends 7, then stalls. */
async function stalling(t: { after(fn: () => unknown): void }, timeouts: UpstreamTimeouts) {
  const up = await rawUpstream(t, (socket) => socket.write('HTTP/1.1 403 Forbidden\r\ncontent-length: 100\r\n\r\npartial'))
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url], timeouts } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(handshake())
  await until(() => c.text().endsWith('partial'), 'the start of the refusal')
  return { up, proxy, c }
}

/** The exchange is over: one record, the slot given back, the upstream connection closed. */
async function released(proxy: TestProxy, up: RawUpstream): Promise<void> {
  await until(() => proxy.log.accesses.length === 1, 'the access record')
  assert.equal(proxy.runtime.states.get(up.url).inflight, 0)
  await until(() => up.conns[0]!.ended || up.conns[0]!.socket.destroyed, 'the upstream connection closed')
}

test('a relayed body that stalls longer than timeouts.bodyIdle closes the client connection', T, async (t) => {
  const { up, proxy, c } = await stalling(t, { bodyIdle: '100ms' })
  await c.ended
  await released(proxy, up)
  const record = proxy.log.accesses[0]!
  assert.equal(record.status, 403)
  assert.equal(record.error, 'upstream body idle timeout (after response started)')
  assert.ok(proxy.log.lines.some((l) => l.message === 'upstream request failed: upstream body idle timeout (after response started)'))
})

test('timeouts.total bounds a relayed answer', T, async (t) => {
  const { up, proxy, c } = await stalling(t, { total: '150ms' })
  await c.ended
  await released(proxy, up)
  assert.equal(proxy.log.accesses[0]!.error, 'upstream total timeout (after response started)')
})

test('timeouts.total bounds the handshake: 504', T, async (t) => {
  const up = await rawUpstream(t, () => {}) // never answers
  const proxy = await proxyFor(t, { upstreams: { u: { servers: [up.url], timeouts: { total: '100ms' } } }, routes: [{ to: 'u' }] })
  const c = await client(t, proxy.port)
  c.socket.write(handshake())
  await c.ended
  assert.match(c.text(), /^HTTP\/1\.1 504 /)
  await released(proxy, up)
  assert.equal(proxy.log.accesses[0]!.error, 'upstream total timeout')
})

test('a client that ends its side during a relayed answer frees everything at once', T, async (t) => {
  const { up, proxy, c } = await stalling(t, {}) // default timeouts: a minute
  c.socket.end()
  await c.ended
  await released(proxy, up)
  assert.equal(proxy.log.accesses[0]!.status, 403)
  assert.equal(proxy.log.accesses[0]!.error, 'client closed the connection before the response finished')
})

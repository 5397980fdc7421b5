import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy, http } from '../helpers/servers.js'
import { namedBackend, backendsOf, closedPort, until } from './helpers.js'

test('smooth weighted round robin through the proxy: 5:1:1 → a a b a c a a', async (t) => {
  const [a, b, c] = await Promise.all([namedBackend('a'), namedBackend('b'), namedBackend('c')])
  const proxy = await startProxy({
    upstreams: { g: { servers: [{ url: a.url, weight: 5 }, { url: b.url, weight: 1 }, { url: c.url, weight: 1 }] } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close(), c.close()]))
  assert.deepEqual(await backendsOf(proxy.url, 14), [...'aabacaa', ...'aabacaa'])
})

test('least-conn: a server holding a request gets nothing until it finishes', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  const proxy = await startProxy({ upstreams: { g: { servers: [a.url, b.url], balance: 'least-conn' } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const slow = http(`${proxy.url}/hold`)
  await until(() => a.held.length + b.held.length === 1, 'the held request')
  const busy = a.held.length === 1 ? a : b
  const idle = busy === a ? b : a
  assert.deepEqual(await backendsOf(`${proxy.url}/fast`, 6), Array(6).fill(idle.name))
  busy.release()
  assert.equal((await slow).headers['x-backend'], busy.name)
})

test('p2c shifts traffic away from a server that turned slow', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  const proxy = await startProxy({ upstreams: { g: { servers: [a.url, b.url], balance: { policy: 'p2c', decay: '30s' } } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const warm = await backendsOf(proxy.url, 20)
  assert.ok(warm.includes('a') && warm.includes('b'), `both measured: ${warm.join('')}`)
  // Slow down the server p2c prefers right now (the one with the lower estimate).
  const preferred = String((await http(proxy.url)).headers['x-backend'])
  const slow = preferred === 'a' ? a : b
  slow.delay = 60
  // It answers slowly at most once: its peak-EWMA estimate jumps at once and the other takes over.
  const after = await backendsOf(proxy.url, 25)
  assert.ok(after.filter((x) => x === slow.name).length <= 1, after.join(''))
  assert.deepEqual(after.slice(-20), Array(20).fill(slow === a ? 'b' : 'a'))
})

test('consistent hash through the proxy: same key, same server; keys spread', async (t) => {
  const [a, b, c] = await Promise.all([namedBackend('a'), namedBackend('b'), namedBackend('c')])
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url, c.url], balance: { policy: 'hash', key: 'header:x-user' } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close(), c.close()]))
  const seen = new Set<string>()
  for (let user = 0; user < 30; user++) {
    const got = await backendsOf(proxy.url, 3, { headers: { 'x-user': `user-${user}` } })
    assert.equal(new Set(got).size, 1, `user-${user} moved: ${got.join(',')}`)
    seen.add(got[0]!)
  }
  assert.equal(seen.size, 3)
})

test('backup servers get traffic only when no primary is available', async (t) => {
  const [a, b, spare] = await Promise.all([namedBackend('a'), namedBackend('b'), namedBackend('spare')])
  const dead = await closedPort()
  const servers = (primaryA: string, downB: boolean) => [primaryA, { url: b.url, down: downB }, { url: spare.url, backup: true }]
  const proxy = await startProxy({ upstreams: { g: { servers: servers(a.url, false) } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close(), spare.close()]))
  assert.deepEqual(new Set(await backendsOf(proxy.url, 6)), new Set(['a', 'b']))
  // One primary marked down by hand: the other takes everything, the backup still nothing.
  const { resolveConfig } = await import('../../src/config/resolve-config.js')
  const load = (list: ReturnType<typeof servers>) =>
    proxy.runtime.load(resolveConfig({ listen: { port: 0 }, upstreams: { g: { servers: list } }, routes: [{ to: 'g' }] }, 'start'))
  await load(servers(a.url, true))
  assert.deepEqual(await backendsOf(proxy.url, 4), ['a', 'a', 'a', 'a'])
  // The remaining primary refuses connections: the request is retried on the backup, the
  // primary is ejected (passive health), and the backup serves from then on.
  await load(servers(`http://127.0.0.1:${dead}`, true))
  assert.deepEqual(await backendsOf(proxy.url, 4), ['spare', 'spare', 'spare', 'spare'])
  assert.equal(spare.hits, 4)
  assert.equal(proxy.runtime.states.get(`http://127.0.0.1:${dead}`).ejections, 1)
})

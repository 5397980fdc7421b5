import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy, startBackend, http } from '../helpers/servers.js'
import { namedBackend, closedPort } from './helpers.js'

test('connect refused: retried on another server, for GET and for POST (body intact)', async (t) => {
  const b = await namedBackend('b')
  const dead = `http://127.0.0.1:${await closedPort()}`
  const proxy = await startProxy({ upstreams: { g: { servers: [dead, b.url], passive: false } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), b.close()]))
  for (let i = 0; i < 4; i++) {
    const get = await http(`${proxy.url}/get`)
    assert.equal(get.status, 200)
    // A chunked body (no Content-Length) is streamed, not buffered: still intact after a connect error.
    const post = await http(`${proxy.url}/post`, { method: 'POST', body: `payload-${i}`, headers: { 'transfer-encoding': 'chunked' } })
    assert.equal(post.status, 200)
    assert.equal(post.body.toString(), 'b')
  }
  assert.deepEqual(b.bodies.filter(Boolean), ['payload-0', 'payload-1', 'payload-2', 'payload-3'])
  assert.ok(proxy.runtime.states.get(dead).failures >= 2, 'the dead server was tried')
  assert.ok(proxy.log.lines.some((l) => /retrying: upstream connection refused/.test(l.message)))
})

test('503 is retried for GET (the client never sees it) but not for POST unless the route opts in', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 503
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], passive: false, retry: { on: [503] } } },
    routes: [
      { match: { path: '/opt-in' }, to: 'g', retry: { retryNonIdempotent: true } },
      { to: 'g' },
    ],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  for (let i = 0; i < 4; i++) {
    const res = await http(`${proxy.url}/x`)
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-backend'], 'b')
    assert.deepEqual(res.headers['set-cookie'], ['own-b=1'], 'only the final attempt reaches the client')
  }
  assert.equal(a.hits, 2, 'round robin sent every other first attempt to a')
  const posts = []
  for (let i = 0; i < 4; i++) posts.push((await http(`${proxy.url}/x`, { method: 'POST', body: `p${i}` })).status)
  assert.deepEqual(posts.sort(), [200, 200, 503, 503])
  const optIn = []
  for (let i = 0; i < 4; i++) optIn.push((await http(`${proxy.url}/opt-in`, { method: 'POST', body: `o${i}` })).status)
  assert.deepEqual(optIn, [200, 200, 200, 200])
  // Buffered for replay: b received the opted-in bodies intact, including the retried ones.
  assert.deepEqual(b.bodies.filter((x) => x.startsWith('o')).sort(), ['o0', 'o1', 'o2', 'o3'])
})

test('a body past maxReplayBody is never sent twice, though it arrived whole with its head', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 503
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], passive: false, retry: { on: [503], maxReplayBody: 4 } } },
    routes: [{ to: 'g', retry: { retryNonIdempotent: true } }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const small = []
  const large = []
  for (let i = 0; i < 4; i++) small.push((await http(`${proxy.url}/x`, { method: 'PUT', body: `s${i}` })).status)
  for (let i = 0; i < 4; i++) large.push((await http(`${proxy.url}/x`, { method: 'PUT', body: `large-${i}` })).status)
  assert.deepEqual(small, [200, 200, 200, 200])
  assert.deepEqual(large.sort(), [200, 200, 503, 503])
  assert.deepEqual(b.bodies.filter((x) => x.startsWith('s')).sort(), ['s0', 's1', 's2', 's3'])
  assert.equal(b.bodies.filter((x) => x.startsWith('large')).length, 2, 'only the large bodies b got first')
})

test('any status from 400 to 599 listed in `on` is retried, not only 5xx and 429 (a 404 goes to the next server)', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 404
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], passive: false, retry: { on: [404] } } },
    routes: [{ match: { path: '/as-is/*' }, to: 'g', retry: { on: ['connect-error'] } }, { to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  for (let i = 0; i < 4; i++) {
    const res = await http(`${proxy.url}/x`)
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-backend'], 'b')
  }
  assert.equal(a.hits, 2, 'round robin sent every other first attempt to a')
  // Not listed (the route's own `on`): the 404 is the answer.
  const statuses = []
  for (let i = 0; i < 2; i++) statuses.push((await http(`${proxy.url}/as-is/x`)).status)
  assert.deepEqual(statuses.sort(), [200, 404])
})

test('a timeout is retried for GET, not for POST', async (t) => {
  const [a, b] = await Promise.all([startBackend(() => {}), namedBackend('b')]) // a never answers
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], passive: false, retry: { perTryTimeout: '100ms' }, balance: 'first' } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const get = await http(`${proxy.url}/x`)
  assert.equal(get.status, 200)
  assert.equal(get.headers['x-backend'], 'b')
  const post = await http(`${proxy.url}/x`, { method: 'POST', body: 'once' })
  assert.equal(post.status, 504)
  assert.equal(b.bodies.includes('once'), false)
})

test('the retry budget stops a retry storm against a failing group', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = b.status = 503
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], passive: false, retry: { on: [503], budget: { ratio: 0.2, minPerSecond: 0 } } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  for (let i = 0; i < 50; i++) assert.equal((await http(proxy.url)).status, 503)
  // Without a budget every request would be tried twice (100 hits); 20% of 50 = 10 retries.
  assert.equal(a.hits + b.hits, 60)
  assert.ok(proxy.log.lines.some((l) => /retry budget spent/.test(l.message)))
})

test('retry: false and single-server groups never retry', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 502
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], balance: 'first', retry: false, passive: false }, one: { servers: [a.url], retry: { on: [502] } } },
    routes: [{ match: { path: '/one' }, to: 'one' }, { to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  assert.equal((await http(`${proxy.url}/x`)).status, 502)
  assert.equal((await http(`${proxy.url}/one`)).status, 502)
  assert.equal(b.hits, 0)
})

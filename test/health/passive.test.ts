import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy, http } from '../helpers/servers.js'
import { namedBackend, backendsOf, until } from '../upstream/helpers.js'

test('passive health: maxFails failures eject a server for failTimeout, then it is tried again', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 503
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], retry: false, passive: { maxFails: 2, failTimeout: '1s', failOn: [503] } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const state = proxy.runtime.states.get(a.url)
  // Round robin: a answers 503 twice (every other request), then it is out.
  while (state.ejections === 0) await http(proxy.url)
  assert.equal(a.hits, 2)
  const ejectedAt = a.hits
  assert.match(proxy.log.lines.find((l) => /ejected/.test(l.message))!.message,
    new RegExp(`server ${a.url} of upstream 'g': healthy → ejected for 1000ms \\(status 503; 2 failure\\(s\\) within 1000ms\\)`))
  // While out, b takes everything (checked by state, not by timing: stop once a is back).
  const served: string[] = []
  while (performance.now() < state.ejectedUntil - 300) served.push(String((await http(proxy.url)).headers['x-backend']))
  assert.ok(served.every((x) => x === 'b'), served.join(''))
  assert.equal(a.hits, ejectedAt)
  // After failTimeout a gets traffic again.
  a.status = 200
  await until(() => performance.now() > state.ejectedUntil, 'failTimeout to pass', 2000)
  assert.ok((await backendsOf(proxy.url, 4)).includes('a'))
})

test('failOn counts any status from 400 to 599 it lists: a server answering 404 is ejected', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 404
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url], retry: false, passive: { maxFails: 1, failTimeout: '30s', failOn: [404] } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  // Round robin: a answers the first request, and that one 404 takes it out.
  assert.equal((await http(proxy.url)).status, 404)
  assert.equal(proxy.runtime.states.get(a.url).ejections, 1)
  assert.ok(proxy.log.lines.some((l) => l.message.includes(`server ${a.url} of upstream 'g': healthy → ejected for 30000ms (status 404;`)))
  assert.deepEqual(await backendsOf(proxy.url, 4), ['b', 'b', 'b', 'b'])
  assert.equal(a.hits, 1)
})

test('a single-server group is never ejected (nowhere else to go), like nginx', async (t) => {
  const a = await namedBackend('a')
  a.status = 503
  const proxy = await startProxy({ upstreams: { g: { servers: [a.url], passive: { failOn: [503] } } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), a.close()]))
  for (let i = 0; i < 3; i++) assert.equal((await http(proxy.url)).status, 503)
  assert.equal(a.hits, 3)
})

test('ctx.forward() failures count toward passive health too: a failing status, and a refused connection', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  a.status = 503
  const dead = await namedBackend('dead')
  await dead.close() // its port now refuses connections
  const proxy = await startProxy({
    upstreams: {
      g: { servers: [a.url, b.url], retry: false, passive: { maxFails: 1, failTimeout: '30s', failOn: [503] } },
      h: { servers: [dead.url, b.url], retry: false, passive: { maxFails: 1, failTimeout: '30s' } },
    },
    routes: [
      { match: { path: '/g' }, handle: (_req, ctx) => ctx.forward('g') },
      { match: { path: '/h' }, handle: (_req, ctx) => ctx.forward('h') },
    ],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const stateA = proxy.runtime.states.get(a.url)
  while (stateA.ejections === 0) await http(`${proxy.url}/g`)
  assert.ok(proxy.log.lines.some((l) => l.message.includes(`server ${a.url} of upstream 'g': healthy → ejected for 30000ms (status 503;`)))
  for (let i = 0; i < 4; i++) assert.equal((await http(`${proxy.url}/g`)).headers['x-backend'], 'b')

  const stateDead = proxy.runtime.states.get(dead.url)
  while (stateDead.ejections === 0) await http(`${proxy.url}/h`)
  assert.ok(proxy.log.lines.some((l) => l.message.includes(`server ${dead.url} of upstream 'h': healthy → ejected`)))
  for (let i = 0; i < 4; i++) assert.equal((await http(`${proxy.url}/h`)).headers['x-backend'], 'b')
})

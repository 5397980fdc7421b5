import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy, http } from '../helpers/servers.js'
import { namedBackend, until } from './helpers.js'

test('maxConns: a full server is skipped; when all are full requests queue, then 503', async (t) => {
  const [a, b] = await Promise.all([namedBackend('a'), namedBackend('b')])
  const proxy = await startProxy({
    upstreams: { g: { servers: [{ url: a.url, maxConns: 1 }, { url: b.url, maxConns: 1 }], queue: { size: 1, timeout: '10s' } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const first = http(`${proxy.url}/hold`)
  const second = http(`${proxy.url}/hold`)
  await until(() => a.held.length === 1 && b.held.length === 1, 'one held request on each server')
  const queued = http(`${proxy.url}/hold`)
  // The queue (size 1) is taken: the next request is refused at once.
  const group = proxy.runtime.generation.groups.get('g')!
  await until(() => group.queued === 1, 'the queue to fill')
  const refused = await http(`${proxy.url}/hold`)
  assert.equal(refused.status, 503)
  assert.equal(refused.headers['retry-after'], '1')
  assert.match(proxy.log.lines.at(-1)!.message, /every server is at maxConns and the queue is full/)
  assert.equal(a.hits + b.hits, 2, 'the queued request waits')
  a.release()
  await until(() => a.held.length + b.held.length === 2, 'the queued request to reach a server')
  a.release()
  b.release()
  assert.deepEqual((await Promise.all([first, second, queued])).map((r) => r.status), [200, 200, 200])
})

test('maxConns: a queued request gives up with 503 after queue.timeout', async (t) => {
  const a = await namedBackend('a')
  const proxy = await startProxy({
    upstreams: { g: { servers: [{ url: a.url, maxConns: 1 }], queue: { size: 5, timeout: '50ms' } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close()]))
  const held = http(`${proxy.url}/hold`)
  await until(() => a.held.length === 1, 'the held request')
  const waited = await http(`${proxy.url}/x`)
  assert.equal(waited.status, 503)
  assert.match(proxy.log.lines.at(-1)!.message, /in the queue/)
  a.release()
  assert.equal((await held).status, 200)
})

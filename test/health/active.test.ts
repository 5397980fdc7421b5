import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy } from '../helpers/servers.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { namedBackend, backendsOf, until } from '../upstream/helpers.js'

/** A backend whose /health answers `healthy.status` (and counts probes). */
async function checkedBackend(name: string) {
  const health = { status: 200, probes: 0, body: 'ok' }
  const backend = await namedBackend(name, (req, res) => {
    if (req.url !== '/health') return false
    health.probes++
    res.writeHead(health.status, { 'content-type': 'text/plain' })
    res.end(health.body)
    return true
  })
  return Object.assign(backend, { health })
}

const HEALTH = { path: '/health', interval: '20ms', timeout: '500ms', healthyAfter: 2, unhealthyAfter: 2 } as const

test('active checks take a server out when its health endpoint fails and bring it back', async (t) => {
  const [a, b] = await Promise.all([checkedBackend('a'), checkedBackend('b')])
  const proxy = await startProxy({ upstreams: { g: { servers: [a.url, b.url], health: HEALTH } }, routes: [{ to: 'g' }] })
  proxy.runtime.pools.health.log = proxy.log
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const check = proxy.runtime.pools.health.checks(a.url)[0]!
  await until(() => check.probes >= 2, 'probes to run')
  assert.equal(check.healthy, true)
  assert.deepEqual(new Set(await backendsOf(proxy.url, 4)), new Set(['a', 'b']))

  a.health.status = 500
  await until(() => !check.healthy, 'a to turn unhealthy')
  assert.deepEqual(await backendsOf(proxy.url, 4), ['b', 'b', 'b', 'b'])
  const line = proxy.log.lines.find((l) => /healthy → unhealthy/.test(l.message))!
  assert.match(line.message, new RegExp(`server ${a.url} of upstream 'g': healthy → unhealthy \\(status 500`))

  a.health.status = 200
  await until(() => check.healthy, 'a to recover')
  assert.ok((await backendsOf(proxy.url, 4)).includes('a'))
  assert.ok(proxy.log.lines.some((l) => /unhealthy → healthy/.test(l.message)))
})

test('expectStatus ranges and expectBody decide health', async (t) => {
  const a = await checkedBackend('a')
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url], health: { ...HEALTH, expectStatus: [200, 299], expectBody: /"status":\s*"up"/ } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close()]))
  const check = proxy.runtime.pools.health.checks(a.url)[0]!
  await until(() => !check.healthy, 'a body without "up" to fail')
  assert.match(check.reason, /body does not match/)
  a.health.body = '{"status": "up"}'
  await until(() => check.healthy, 'the expected body to pass')
  a.health.status = 302
  await until(() => !check.healthy, '302 outside [200, 299] to fail')
  assert.match(check.reason, /status 302/)
})

test('health state survives a reload that keeps the server; removed servers stop being probed; close stops all', async (t) => {
  const [a, b] = await Promise.all([checkedBackend('a'), checkedBackend('b')])
  const config = (servers: string[], path = '/'): SwitchyardConfig => ({
    listen: { port: 0 },
    upstreams: { g: { servers, health: HEALTH } },
    routes: [{ match: { path: `${path}*` }, to: 'g' }],
  })
  const proxy = await startProxy(config([a.url, b.url]))
  t.after(() => Promise.all([proxy.close(), a.close(), b.close()]))
  const checkA = proxy.runtime.pools.health.checks(a.url)[0]!
  a.health.status = 503
  await until(() => !checkA.healthy, 'a to turn unhealthy')

  // Same servers and check settings, other routes: the very same check, still unhealthy.
  await proxy.runtime.load(resolveConfig(config([a.url, b.url], '/v2/'), 'start'))
  assert.equal(proxy.runtime.pools.health.checks(a.url)[0], checkA)
  assert.equal(checkA.healthy, false)
  assert.deepEqual(await backendsOf(`${proxy.url}/v2/x`, 3), ['b', 'b', 'b'])

  // a leaves the config: its check stops (no more probes).
  await proxy.runtime.load(resolveConfig(config([b.url]), 'start'))
  await until(() => proxy.runtime.pools.health.checks(a.url).length === 0, "a's check to be dropped")
  const probes = a.health.probes
  await until(() => proxy.runtime.pools.health.checks(b.url)[0]!.probes >= 3, 'b to be probed on')
  assert.ok(a.health.probes <= probes + 1, 'a is not probed any more (one probe may have been in flight)')

  await proxy.runtime.close(100)
  assert.deepEqual(proxy.runtime.pools.health.checks(), [])
})

test('without expectBody a probe reads its body to the end and drops it: one connection serves every probe', async (t) => {
  const a = await checkedBackend('a')
  a.health.body = 'x'.repeat(16 * 1024)
  let connections = 0
  a.server.on('connection', () => void connections++)
  const proxy = await startProxy({ upstreams: { g: { servers: [a.url], health: HEALTH } }, routes: [{ to: 'g' }] })
  t.after(() => Promise.all([proxy.close(), a.close()]))
  const check = proxy.runtime.pools.health.checks(a.url)[0]!
  await until(() => check.probes >= 4, 'probes to run')
  assert.equal(check.healthy, true)
  assert.equal(connections, 1)
})

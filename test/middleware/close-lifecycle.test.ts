// Middleware close(): called when the Generation that owns the middleware retires (after a
// reload, once its last request is over) and on shutdown; errors are logged, never fatal.
// With a real redis-server: reloads do not pile up rate-limit store connections.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { startProxy, http, heldBackend, collectingLog } from '../helpers/servers.js'
import { Runtime } from '../../runtime/runtime.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { Middleware } from '../../src/config/hooks.js'
import type { SwitchyardConfig } from '../../src/config/types.js'
import { rateLimit, redisRateLimitStore } from '../../src/middleware/index.js'
import { startRedis } from '../cache/redis-server.js'
import { until } from './e2e-helpers.js'

function closable(name: string, closed: string[], fail = false): Middleware {
  return {
    name,
    onRequest: () => undefined,
    close: async () => {
      closed.push(name)
      if (fail) throw new Error(`${name} could not close`)
    },
  }
}

test('close() runs when the old config retires: after its last in-flight request, once, failures logged', async (t) => {
  const backend = await heldBackend('/slow')
  const closed: string[] = []
  const shared = closable('shared', closed)
  const config = (tag: string): SwitchyardConfig => ({
    upstreams: { b: { servers: [backend.url] } },
    use: [shared, closable(`${tag}-global`, closed, tag === 'v2')],
    routes: [{ to: 'b', use: [closable(`${tag}-route`, closed)], hooks: { onRequest: () => {} } }],
  })
  const proxy = await startProxy(config('v1'))
  t.after(() => backend.close())
  let stopped = false
  t.after(() => (stopped ? undefined : proxy.close()))

  const slow = http(`${proxy.url}/slow`) // in flight on v1
  await backend.arrived
  await proxy.runtime.load(resolveConfig({ ...config('v2'), listen: { host: '127.0.0.1', port: 0 } }, 'start'))
  assert.deepEqual(closed, [], 'v1 still has a request in flight')
  backend.release()
  assert.equal((await slow).status, 200)
  await until(() => closed.length === 2, 'v1 middleware closed')
  assert.deepEqual(closed.sort(), ['v1-global', 'v1-route'], "the object v2 reuses is not closed")

  // v2 → v3 with nothing in flight: v2 closes at once; its failing close() is logged.
  await proxy.runtime.load(resolveConfig({ ...config('v3'), listen: { host: '127.0.0.1', port: 0 } }, 'start'))
  await until(() => closed.length === 4, 'v2 middleware closed')
  assert.ok(proxy.log.lines.some((l) => l.level === 'error' && /close\(\) of middleware 'v2-global' failed: v2-global could not close/.test(l.message)))
  assert.equal((await http(`${proxy.url}/x`)).status, 200, 'still serving')

  stopped = true
  await proxy.close()
  assert.deepEqual(closed.slice(4).sort(), ['shared', 'v3-global', 'v3-route'])
  assert.equal(closed.filter((n) => n === 'shared').length, 1)
})

test('a middleware object listed again by a later config after it was closed is closed again when that config retires', async (t) => {
  let closes = 0
  const store: Middleware = { name: 'store', onRequest: () => undefined, close: () => void closes++ }
  const config = (use: Middleware[]) => resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, use, routes: [{ respond: { body: 'ok' } }] }, 'start')
  const runtime = new Runtime({ log: collectingLog() })
  let stopped = false
  t.after(() => (stopped ? undefined : runtime.close(1000)))
  await runtime.load(config([store]))
  await runtime.load(config([]))
  assert.equal(closes, 1, 'config 1 retired')
  await runtime.load(config([store])) // back (e.g. a module-level instance in a shared helper file)
  await runtime.load(config([store])) // listed by two live configs: the first retiring does not close it
  assert.equal(closes, 1)
  await runtime.load(config([]))
  assert.equal(closes, 2, 'closed again when the last config listing it retired')
  await runtime.load(config([store]))
  stopped = true
  await runtime.close(1000)
  assert.equal(closes, 3, 'and at shutdown')
})

test('shutdown waits for middleware close() only so long: a hung one is logged', async () => {
  const log = collectingLog()
  const runtime = new Runtime({ log, middlewareCloseTimeout: 50 })
  let closedQuick = false
  const hung: Middleware = { name: 'hung', close: () => new Promise<void>(() => {}) }
  const quick: Middleware = { name: 'quick', close: async () => void (closedQuick = true) }
  await runtime.load(resolveConfig({ listen: { host: '127.0.0.1', port: 0 }, use: [hung, quick], routes: [{ respond: { body: 'ok' } }] }, 'start'))
  await runtime.close(1000)
  assert.equal(closedQuick, true)
  assert.ok(log.lines.some((l) => l.level === 'error' && /close\(\) of middleware 'hung' did not finish within 50 ms/.test(l.message)), JSON.stringify(log.lines))
})

test('redis rate limit: 20 reloads do not add Redis connections; shutdown closes the last one', async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const url = `redis://127.0.0.1:${redis.port}`
  const admin = new Redis(url)
  t.after(() => admin.quit())
  const clients = async (): Promise<number> => {
    const list = (await admin.client('LIST')) as string
    return list.trim().split('\n').filter((line) => line !== '').length - 1 // minus this one
  }
  assert.equal(await clients(), 0)

  const runtime = new Runtime({ log: collectingLog() })
  let closed = false
  t.after(() => (closed ? undefined : runtime.close(1000)))
  const config = (n: number) => resolveConfig({
    listen: { host: '127.0.0.1', port: 0 },
    use: [rateLimit({ limit: 1000, window: '1m', store: redisRateLimitStore({ url, prefix: `t${n}:` }) })],
    routes: [{ respond: { body: `config ${n}` } }],
  }, 'start')
  await runtime.load(config(0))
  const port = runtime.addresses()[0]!.port // kept across reloads (the config says port 0)
  for (let n = 1; n <= 20; n++) {
    const res = await http(`http://127.0.0.1:${port}/`)
    assert.equal(res.headers['ratelimit-limit'], '1000') // the store answered: it is connected
    await runtime.load(config(n))
  }
  assert.equal((await http(`http://127.0.0.1:${port}/`)).body.toString(), 'config 20')
  // Old configs close their store as they retire (QUIT is asynchronous): wait for it to settle.
  let count = await clients()
  for (let i = 0; i < 200 && count > 1; i++) {
    await new Promise((r) => setTimeout(r, 10))
    count = await clients()
  }
  assert.equal(count, 1, 'only the current config holds a connection')

  closed = true
  await runtime.close(1000)
  assert.equal(await clients(), 0, 'shutdown closed it')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { ConfigError } from '../../src/config/config-error.js'
import type { UpstreamConfig } from '../../src/config/types.js'

function problems(upstream: Record<string, unknown>, route: Record<string, unknown> = {}): string[] {
  try {
    resolveConfig({ upstreams: { api: { servers: ['http://127.0.0.1:3001', 'http://127.0.0.1:3002'], ...upstream } }, routes: [{ to: 'api', ...route }] }, 'start')
    return []
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    return err.problems.map((p) => `${p.path}: ${p.message}`)
  }
}

test('balance: every form validates; bad ones name the key path', () => {
  for (const balance of ['round-robin', 'random', 'least-conn', 'ip-hash', 'p2c', 'first', { policy: 'hash', key: 'cookie:sid' },
    { policy: 'hash', key: () => 'k' }, { policy: 'p2c', decay: '10s' }, () => undefined]) {
    assert.deepEqual(problems({ balance }), [], JSON.stringify(balance))
  }
  const upstream = resolveConfig({ upstreams: { api: { servers: ['http://127.0.0.1:1'], balance: { policy: 'p2c', decay: '2s' } } }, routes: [{ to: 'api' }] }, 'start').upstreams.get('api')!
  assert.deepEqual(upstream.balance, { policy: 'p2c', decay: 2000 })
  assert.match(problems({ balance: 'fastest' })[0]!, /^upstreams\.api\.balance: unknown policy 'fastest' \(known: round-robin, random/)
  assert.match(problems({ balance: { policy: 'hash', key: 'body:x' } })[0]!, /^upstreams\.api\.balance\.key: expected header:NAME, cookie:NAME/)
  assert.match(problems({ balance: 'hash' })[0]!, /^upstreams\.api\.balance: policy 'hash' needs a key/)
  assert.match(problems({ balance: { policy: 'p2c', decay: 'soon' } })[0]!, /^upstreams\.api\.balance\.decay: expected a duration/)
})

test('servers: backup, down, maxConns, slowStart', () => {
  const ok = resolveConfig({
    upstreams: { api: { servers: [{ url: 'http://127.0.0.1:1', maxConns: 10, slowStart: '30s' }, { url: 'http://127.0.0.1:2', backup: true, down: false }] } },
    routes: [{ to: 'api' }],
  }, 'start').upstreams.get('api')!
  assert.deepEqual(ok.servers, [
    { origin: 'http://127.0.0.1:1', weight: 1, maxConns: 10, slowStart: 30_000 },
    { origin: 'http://127.0.0.1:2', weight: 1, backup: true },
  ])
  const bad = problems({ servers: [{ url: 'http://127.0.0.1:1', maxConns: 0, slowStart: 'later', backup: 'yes', weigth: 2 }] })
  assert.deepEqual(bad.map((m) => m.split(':')[0]), [
    'upstreams.api.servers[0].weigth', 'upstreams.api.servers[0].backup', 'upstreams.api.servers[0].maxConns', 'upstreams.api.servers[0].slowStart',
  ])
  assert.match(bad[0]!, /did you mean 'weight'/)
})

test('health, passive, retry, sticky and queue: bad values are reported with their key paths', () => {
  assert.deepEqual(problems({ health: { path: '/h', interval: '5s', expectStatus: ['2xx', 404], expectBody: /ok/ } }), [])
  assert.deepEqual(problems({
    health: { path: 'health', intervl: '1s', expectStatus: '2xxx', unhealthyAfter: 0, method: 'PUT' },
  }), [
    "upstreams.api.health.intervl: unknown option (did you mean 'interval'?); known: path, method, interval, timeout, expectStatus, expectBody, headers, healthyAfter, unhealthyAfter",
    "upstreams.api.health.path: expected a path starting with '/', got 'health'",
    "upstreams.api.health.method: expected 'GET', 'HEAD', 'OPTIONS' or 'POST', got 'PUT'",
    "upstreams.api.health.expectStatus: expected a status (200), a class ('2xx'), a range [200, 399] or a list [200, 204, '3xx'], got '2xxx'",
    'upstreams.api.health.unhealthyAfter: expected an integer from 1 to 1000, got number 0',
  ])
  assert.deepEqual(problems({ passive: { maxFails: -1, failOn: ['connect-error', 'oops', 200] } }), [
    'upstreams.api.passive.maxFails: expected an integer from 0 to 1000000, got number -1',
    "upstreams.api.passive.failOn[1]: expected one of 'connect-error', 'timeout', 'reset' or a status from 400 to 599, got 'oops'",
    "upstreams.api.passive.failOn[2]: expected one of 'connect-error', 'timeout', 'reset' or a status from 400 to 599, got number 200",
  ])
  assert.deepEqual(problems({ retry: { tries: 0, on: ['reset'], budget: { ratio: -1 }, maxReplayBody: 'big' } }), [
    'upstreams.api.retry.tries: expected an integer from 1 to 10, got number 0',
    "upstreams.api.retry.on[0]: expected one of 'connect-error', 'timeout', 'reset-before-response' or a status from 400 to 599, got 'reset'",
    'upstreams.api.retry.budget.ratio: expected a number from 0 to 10 (0.2 = 20%), got number -1',
    "upstreams.api.retry.maxReplayBody: expected a size: bytes or a string like '64kb', '10mb', got 'big'",
  ])
  assert.deepEqual(problems({}, { retry: { retryNonIdempotent: 'yes' } }), ['routes[0].retry.retryNonIdempotent: expected true or false, got \'yes\''])
  assert.deepEqual(problems({ sticky: { cookie: 'a b', sameSite: 'lax' } }), [
    "upstreams.api.sticky.cookie: expected a cookie name (letters, digits, - _ …), got 'a b'",
    "upstreams.api.sticky.sameSite: expected 'Strict', 'Lax' or 'None', got 'lax'",
  ])
  assert.deepEqual(problems({ queue: { size: -1, timeout: 'never' } }).map((m) => m.split(':')[0]), ['upstreams.api.queue.size', 'upstreams.api.queue.timeout'])
})

test('a route retry overrides the group retry field by field', () => {
  const config = resolveConfig({
    upstreams: { api: { servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], retry: { tries: 3, on: [503] } } },
    routes: [{ to: 'api', retry: { retryNonIdempotent: true } }, { to: 'api', retry: false }],
  }, 'start')
  const [first, second] = config.routes.map((r) => (r.action.type === 'forward' ? r.action.retry : undefined))
  assert.equal(first!.tries, 3)
  assert.equal(first!.statuses![503], 1)
  assert.equal(first!.retryNonIdempotent, true)
  assert.equal(second!.tries, 1)
})

test('types: every option autocompletes and a wrong one is a type error', () => {
  const ok: UpstreamConfig = {
    servers: [{ url: 'http://a:1', weight: 2, backup: true, down: false, maxConns: 5, slowStart: '30s' }],
    balance: { policy: 'hash', key: 'header:x-user' },
    health: { path: '/health', interval: '5s', expectStatus: [200, 399], expectBody: /ok/, healthyAfter: 2 },
    passive: { maxFails: 3, failTimeout: '10s', failOn: ['connect-error', 503] },
    retry: { tries: 3, on: ['connect-error', 503], budget: { ratio: 0.2, minPerSecond: 3 }, maxReplayBody: '64kb' },
    sticky: { cookie: 'sid', ttl: '1h', sameSite: 'Strict' },
    queue: { size: 10, timeout: '1s' },
  }
  const custom: UpstreamConfig = { servers: ['http://a:1'], balance: (candidates, ctx) => candidates.find((c) => c.state.inflight < 10 && ctx.method === 'GET') }
  // @ts-expect-error unknown policy
  const badPolicy: UpstreamConfig = { servers: [], balance: 'fastest' }
  // @ts-expect-error hash key form
  const badKey: UpstreamConfig = { servers: [], balance: { policy: 'hash', key: 'body:x' } }
  // @ts-expect-error sameSite is capitalised
  const badSticky: UpstreamConfig = { servers: [], sticky: { cookie: 'sid', sameSite: 'lax' } }
  // @ts-expect-error retry outcome name
  const badRetry: UpstreamConfig = { servers: [], retry: { on: ['reset'] } }
  assert.ok(ok && custom && badPolicy && badKey && badSticky && badRetry)
})

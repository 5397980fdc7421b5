import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { ConfigError } from '../../src/config/config-error.js'
import { parseDuration, parseSize } from '../../src/config/units.js'
import { configProblems } from '../helpers/config-problems.js'

const ok = { upstreams: { api: { servers: ['http://127.0.0.1:3001'] } }, routes: [{ to: 'api' }] }

const problems = configProblems

test('durations and sizes: numbers and unit strings', () => {
  assert.equal(parseDuration(250), 250)
  assert.equal(parseDuration('250ms'), 250)
  assert.equal(parseDuration('5s'), 5000)
  assert.equal(parseDuration('1.5s'), 1500)
  assert.equal(parseDuration('1m'), 60_000)
  assert.equal(parseDuration('2h'), 7_200_000)
  assert.match(String(parseDuration('5 parsecs')), /expected a duration/)
  assert.match(String(parseDuration(-1)), /expected a duration/)
  assert.equal(parseSize('64kb'), 65_536)
  assert.equal(parseSize('10MB'), 10 * 1024 * 1024)
  assert.equal(parseSize(100), 100)
  assert.match(String(parseSize('lots')), /expected a size/)
})

test('defaults are filled in', () => {
  const c = resolveConfig(ok, 'dev')
  assert.deepEqual(c.listen, [{ host: '127.0.0.1', port: 8080 }])
  const api = c.upstreams.get('api')!
  assert.deepEqual(api.servers, [{ origin: 'http://127.0.0.1:3001', weight: 1 }])
  assert.deepEqual(api.host, { kind: 'preserve' })
  assert.equal(api.timeouts.connect, 5000)
  assert.equal(api.keepAlive.connections, 128)
  assert.deepEqual(c.forwardedHeaders, { xForwarded: true, forwarded: false })
  assert.equal(c.routes[0]!.name, 'routes[0]')
})

test('the issue example shape resolves', () => {
  const c = resolveConfig({
    listen: { port: 8080 },
    upstreams: { api: { servers: ['http://127.0.0.1:3001', { url: 'http://127.0.0.1:3002', weight: 2 }], timeouts: { connect: '250ms', total: '1m' } } },
    routes: [
      { match: { host: 'api.example.com', path: '/v1/*' }, to: 'api', rewrite: { stripPrefix: '/v1' } },
      { match: { path: '/old/*' }, redirect: { to: '/new/:splat', status: 301 } },
      { match: { path: '/health' }, respond: { status: 200, body: 'ok' } },
      { match: { path: '/users/:id', method: 'GET' }, handle: () => new Response('x') },
      { match: { path: '/*' }, to: 'api' },
    ],
  }, 'dev')
  assert.equal(c.routes.length, 5)
  assert.equal(c.upstreams.get('api')!.timeouts.connect, 250)
  assert.equal(c.upstreams.get('api')!.timeouts.total, 60_000)
  assert.deepEqual(c.routes[1]!.action, { type: 'redirect', to: '/new/:splat', status: 301, preserveQuery: true })
})

test('unknown upstream names the route, the value and the known groups', () => {
  const msg = problems({ upstreams: { api: { servers: ['http://127.0.0.1:1'] }, static: { servers: ['http://127.0.0.1:2'] } }, routes: [{ to: 'api' }, { to: 'api' }, { to: 'api2' }] })
  assert.match(msg, /routes\[2\]\.to: unknown upstream 'api2' \(known: api, static\)/)
})

test('typos in option names are flagged with a suggestion', () => {
  assert.match(problems({ ...ok, routes: [{ mtach: { path: '/' }, to: 'api' }] }), /routes\[0\]\.mtach: unknown option \(did you mean 'match'\?\)/)
  assert.match(problems({ ...ok, upstream: {} }), /config\.upstream: unknown option \(did you mean 'upstreams'\?\)/)
})

test('every problem is reported, not only the first', () => {
  const msg = problems({
    listen: { port: 70000 },
    upstreams: { api: { servers: ['not a url', { url: 'http://127.0.0.1:1', weight: -1 }], timeouts: { connect: 'soon' } } },
    routes: [{ match: { path: 'no-slash' }, to: 'api' }, { redirect: { to: '/x', status: 200 } }, { to: 'api', respond: {} }, {}],
  })
  for (const expected of [
    /listen\.port: expected an integer from 0 to 65535, got number 70000/,
    /upstreams\.api\.servers\[0\]: 'not a url' is not a URL/,
    /upstreams\.api\.servers\[1\]\.weight: expected a positive number/,
    /upstreams\.api\.timeouts\.connect: expected a duration/,
    /routes\[0\]\.match\.path: path pattern 'no-slash' must start with '\/'/,
    /routes\[1\]\.redirect\.status: expected 301, 302, 303, 307 or 308/,
    /routes\[2\]: has to and respond: a route takes exactly one action/,
    /routes\[3\]: needs one action/,
  ]) assert.match(msg, expected)
})

test('wrong top-level shapes', () => {
  assert.match(problems(42), /default export must be an object/)
  assert.match(problems({ routes: 'x' }), /routes: expected an array of routes/)
  assert.match(problems({ ...ok, routes: [{ handle: 'nope' }] }), /routes\[0\]\.handle: expected a function/)
  assert.match(problems({ ...ok, routes: [{ to: 'api', headers: { request: { set: { 'bad name': 'x' } } } }] }), /is not a valid header name/)
  assert.match(problems({ ...ok, routes: [{ to: 'api', headers: { response: { set: { a: 'x\r\ny' } } } }] }), /without CR\/LF/)
})

test('errors are located at a line of the source', () => {
  const source = "export default {\n  upstreams: { api: { servers: ['http://127.0.0.1:1'] } },\n  routes: [\n    { to: 'api2' },\n  ],\n}\n"
  try {
    resolveConfig({ upstreams: { api: { servers: ['http://127.0.0.1:1'] } }, routes: [{ to: 'api2' }] }, 'start', 'proxy.config.ts')
    assert.fail('expected an error')
  } catch (err) {
    assert.match((err as ConfigError).locate(source).message, /^proxy\.config\.ts:4: routes\[0\]\.to: unknown upstream 'api2'/)
  }
})

test('header rules: set replaces, add appends, remove deletes', () => {
  const c = resolveConfig({ ...ok, routes: [{ to: 'api', headers: { request: { set: { 'X-A': '1' }, add: { 'x-b': '2' }, remove: ['X-C'] } } }] }, 'start')
  assert.deepEqual(c.routes[0]!.requestHeaders, { remove: ['x-c', 'x-a'], append: [['x-a', '1'], ['x-b', '2']] })
})

test('respond bodies: string gets text/plain, objects JSON', () => {
  const c = resolveConfig({ routes: [{ respond: { body: 'hi' } }, { respond: { status: 201, body: { a: 1 } } }] }, 'start')
  assert.deepEqual(c.routes[0]!.action, { type: 'respond', status: 200, body: Buffer.from('hi'), headers: [['content-type', 'text/plain; charset=utf-8']] })
  assert.deepEqual(c.routes[1]!.action, { type: 'respond', status: 201, body: Buffer.from('{"a":1}'), headers: [['content-type', 'application/json']] })
})

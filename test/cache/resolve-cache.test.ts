// The cache and admin options: defaults, units, and key-path messages for mistakes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { defineConfig } from '../../src/config/define-config.js'
import { configProblems } from '../helpers/config-problems.js'

const upstreams = { api: { servers: ['http://127.0.0.1:3001'] } }

const problems = configProblems

test('cache: true gets the defaults; routes without cache get none', () => {
  const c = resolveConfig({ upstreams, routes: [{ match: { path: '/a' }, to: 'api', cache: true }, { to: 'api' }] }, 'start')
  assert.deepEqual(c.routes[0]!.cache, {
    store: 'memory', maxObjectSize: 8 * 1024 * 1024, methods: ['GET', 'HEAD'], ignoreNoCache: false, allowSetCookie: false, tags: [],
  })
  assert.equal('cache' in c.routes[1]!, false)
  assert.deepEqual(c.cache, { defaultStore: 'memory', memory: { type: 'memory', maxSize: 256 * 1024 * 1024 }, maxObjectSize: 8 * 1024 * 1024, lockTimeout: 5000 })
  assert.equal(c.admin, undefined)
})

test('every option, with units, and a Redis store', () => {
  const key = (req: { path: string }) => req.path
  const config = defineConfig({
    upstreams,
    cache: { store: { type: 'redis', url: 'redis://127.0.0.1:6379' }, maxSize: '1gb', maxObjectSize: '10mb', lockTimeout: '2s' },
    admin: { listen: { port: 9000 }, token: 't' },
    routes: [{
      to: 'api',
      cache: {
        ttl: '5m', key, store: 'memory', maxObjectSize: '1mb', methods: ['GET'], staleWhileRevalidate: '30s',
        staleIfError: '1h', ignoreNoCache: true, allowSetCookie: true, tags: ['site', 'api'],
      },
    }, { to: 'api', cache: {} }],
  })
  const c = resolveConfig(config, 'start')
  assert.deepEqual(c.routes[0]!.cache, {
    store: 'memory', ttl: 300_000, key, maxObjectSize: 1024 * 1024, methods: ['GET'], staleWhileRevalidate: 30_000,
    staleIfError: 3_600_000, ignoreNoCache: true, allowSetCookie: true, tags: ['site', 'api'],
  })
  assert.equal(c.routes[1]!.cache!.store, 'redis')
  assert.deepEqual(c.cache!.redis, { type: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'switchyard:cache:' })
  assert.equal(c.cache!.memory.maxSize, 1024 ** 3)
  assert.deepEqual(c.admin, { listen: { host: '127.0.0.1', port: 9000 }, token: 't' })
})

test('mistakes are reported with their key path', () => {
  const msg = problems({
    upstreams,
    cache: { maxSize: 'huge', store: 'disk' },
    admin: { listen: 'nine' },
    routes: [
      { to: 'api', cache: { ttl: 'forever', store: 'redis', methods: ['POST'], tags: ['a b'], staleIfErorr: '1m' } },
      { respond: { body: 'x' }, cache: true },
      { to: 'api', cache: 'yes' },
    ],
  })
  for (const needle of [
    /cache\.maxSize.*expected a size/,
    /cache\.store.*expected 'memory' or \{ type: 'redis'/,
    /admin\.listen.*expected a port number/,
    /routes\[0\]\.cache\.ttl.*expected a duration/,
    /routes\[0\]\.cache\.store.*'redis' needs a Redis store/,
    /routes\[0\]\.cache\.methods.*only GET and HEAD/,
    /routes\[0\]\.cache\.tags.*without spaces/,
    /routes\[0\]\.cache\.staleIfErorr.*did you mean 'staleIfError'/,
    /routes\[1\]\.cache.*only forwarding routes/,
    /routes\[2\]\.cache.*expected true or/,
  ]) assert.match(msg, needle)
})

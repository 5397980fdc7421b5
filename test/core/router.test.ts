import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Router, type RoutableRequest } from '../../runtime/router/router.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { RouteConfig } from '../../src/config/types.js'
import { checkPathPattern, compilePathPattern } from '../../runtime/router/path-pattern.js'

function router(routes: RouteConfig[]): Router {
  return new Router(resolveConfig({ upstreams: { u: { servers: ['http://127.0.0.1:1'] } }, routes }, 'start').routes)
}

function req(path: string, init: { method?: string; host?: string; headers?: Record<string, string> } = {}): RoutableRequest {
  return { method: init.method ?? 'GET', host: init.host ?? 'example.com', path, header: (n) => init.headers?.[n] }
}

const r = (name: string, match: RouteConfig['match']): RouteConfig => ({ name, match, to: 'u' })

test('path: exact, named segments and splat', () => {
  const exact = compilePathPattern('/health')
  assert.deepEqual(exact('/health'), {})
  assert.equal(exact('/health/'), null)
  assert.equal(exact('/healthz'), null)
  const user = compilePathPattern('/users/:id')
  assert.deepEqual(user('/users/7'), { id: '7' })
  assert.equal(user('/users/'), null)
  assert.equal(user('/users/7/posts'), null)
  const nested = compilePathPattern('/users/:id/posts/:post')
  assert.deepEqual(nested('/users/1/posts/2'), { id: '1', post: '2' })
  const splat = compilePathPattern('/static/*')
  assert.deepEqual(splat('/static/a/b.css'), { splat: 'a/b.css' })
  assert.deepEqual(splat('/static/'), { splat: '' })
  assert.deepEqual(splat('/static'), { splat: '' })
  assert.equal(splat('/staticfoo'), null)
  const all = compilePathPattern('/*')
  assert.deepEqual(all('/anything/at/all'), { splat: 'anything/at/all' })
  const mixed = compilePathPattern('/t/:tenant/*')
  assert.deepEqual(mixed('/t/acme/x/y'), { tenant: 'acme', splat: 'x/y' })
})

test('path patterns are validated', () => {
  assert.match(checkPathPattern('users')!, /must start with/)
  assert.match(checkPathPattern('/a/*/b')!, /last segment/)
  assert.match(checkPathPattern('/a*')!, /whole segment/)
  assert.match(checkPathPattern('/:id/:id')!, /twice/)
  assert.equal(checkPathPattern('/users/:id/*'), undefined)
})

test('host: exact and wildcard subdomains, case-insensitive', () => {
  const rt = router([r('exact', { host: 'api.example.com' }), r('wild', { host: '*.example.com' }), r('apex', { host: 'example.com' })])
  assert.equal(rt.match(req('/', { host: 'api.example.com' }))?.route.name, 'exact')
  assert.equal(rt.match(req('/', { host: 'a.b.example.com' }))?.route.name, 'wild')
  assert.equal(rt.match(req('/', { host: 'example.com' }))?.route.name, 'apex')
  assert.equal(rt.match(req('/', { host: 'badexample.com' })), undefined)
  const upper = router([r('x', { host: 'API.Example.com' })])
  assert.equal(upper.match(req('/', { host: 'api.example.com' }))?.route.name, 'x')
})

test('method: one or several', () => {
  const rt = router([r('read', { method: ['GET', 'HEAD'] }), r('post', { method: 'post' })])
  assert.equal(rt.match(req('/', { method: 'HEAD' }))?.route.name, 'read')
  assert.equal(rt.match(req('/', { method: 'POST' }))?.route.name, 'post')
  assert.equal(rt.match(req('/', { method: 'PUT' })), undefined)
})

test('headers: exact value, RegExp (even /g), presence and absence', () => {
  const rt = router([
    r('v2', { headers: { 'X-Api-Version': '2' } }),
    r('beta', { headers: { cookie: /(^|; )beta=1/g } }),
    r('auth', { headers: { authorization: true } }),
    r('anon', { headers: { authorization: false } }),
  ])
  assert.equal(rt.match(req('/', { headers: { 'x-api-version': '2' } }))?.route.name, 'v2')
  for (let i = 0; i < 3; i++) assert.equal(rt.match(req('/', { headers: { cookie: 'a=b; beta=1' } }))?.route.name, 'beta')
  assert.equal(rt.match(req('/', { headers: { authorization: 'Bearer x' } }))?.route.name, 'auth')
  assert.equal(rt.match(req('/'))?.route.name, 'anon')
})

test('precedence: declaration order, first full match wins', () => {
  const rt = router([
    r('specific', { path: '/api/users/:id', method: 'GET' }),
    r('api', { path: '/api/*' }),
    r('catch-all', { path: '/*' }),
  ])
  assert.equal(rt.match(req('/api/users/1'))?.route.name, 'specific')
  assert.equal(rt.match(req('/api/users/1', { method: 'DELETE' }))?.route.name, 'api')
  assert.equal(rt.match(req('/other'))?.route.name, 'catch-all')
  const shadowed = router([r('all', { path: '/*' }), r('never', { path: '/x' })])
  assert.equal(shadowed.match(req('/x'))?.route.name, 'all')
})

test('a route without match matches everything; no route → undefined', () => {
  assert.equal(router([{ to: 'u' }]).match(req('/anything'))?.route.name, 'routes[0]')
  assert.equal(router([r('only', { path: '/a' })]).match(req('/b')), undefined)
})

test('several paths in one route', () => {
  const rt = router([r('multi', { path: ['/a', '/b/:id'] })])
  assert.deepEqual(rt.match(req('/b/3'))?.params, { id: '3' })
  assert.equal(rt.match(req('/a'))?.route.name, 'multi')
})

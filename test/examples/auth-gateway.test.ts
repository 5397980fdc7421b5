import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { signJwt, verifyJwt } from '../../examples/auth-gateway/jwt.js'
import { exampleConfig, setEnv } from './helpers.js'

const secret = 'test-secret'
const now = () => Math.floor(Date.now() / 1000)

test('examples/auth-gateway: a valid JWT reaches the API as x-user-id; anything else is a 401 before any upstream', async (t) => {
  setEnv(t, { JWT_SECRET: secret })
  const api = mockUpstream()
  const proxy = await createTestProxy(exampleConfig('auth-gateway'), { upstreams: { api } })
  t.after(() => proxy.close())

  const token = signJwt({ sub: 'ada', exp: now() + 600 }, secret)
  const ok = await proxy.request('/api/users/me', { headers: { authorization: `Bearer ${token}` } })
  assert.equal(ok.status, 200)
  assert.equal(api.lastRequest?.path, '/users/me')
  assert.equal(api.lastRequest?.headers.get('x-user-id'), 'ada')
  assert.equal(api.lastRequest?.headers.get('authorization'), null, 'the token is not passed on')
  assert.deepEqual(ok.trace.hooksIn('onRequest'), ['jwtAuth: -'])

  const cases: Array<[string, string | undefined, string]> = [
    ['missing', undefined, 'missing bearer token'],
    ['expired', signJwt({ sub: 'ada', exp: now() - 3600 }, secret), 'token expired'],
    ['other key', signJwt({ sub: 'ada', exp: now() + 600 }, 'not-the-secret'), 'bad signature'],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"ada"}').toString('base64url')}.`, 'unsupported alg none'],
    ['garbage', 'abc', 'malformed token'],
  ]
  const before = api.requests.length
  for (const [label, bad, reason] of cases) {
    const res = await proxy.request('/api/users/me', { headers: bad ? { authorization: `Bearer ${bad}` } : {} })
    assert.equal(res.status, 401, label)
    assert.deepEqual(res.json(), { error: reason }, label)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/)
    assert.deepEqual(res.trace.hooksIn('onRequest'), ['jwtAuth: answered 401'], label)
    assert.equal(res.trace.balancer, undefined, `${label}: never reached the balancer`)
  }
  assert.equal(api.requests.length, before)

  assert.equal((await proxy.request('/public/logo.svg')).status, 200, '/public needs no token')
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` })
  assert.equal((await proxy.request('/ops/metrics', { headers: basic('admin', 'ops') })).status, 200)
  const denied = await proxy.request('/ops/metrics', { headers: basic('admin', 'nope') })
  assert.equal(denied.status, 401)
  assert.deepEqual(denied.trace.hooksIn('onRequest'), ['basicAuth: answered 401'])
})

test('examples/auth-gateway/jwt.ts: nbf and clock skew', () => {
  const t0 = 1_700_000_000
  assert.equal(verifyJwt(signJwt({ nbf: t0 + 10 }, secret), secret, t0).ok, true, 'within the 30 s skew')
  assert.deepEqual(verifyJwt(signJwt({ nbf: t0 + 100 }, secret), secret, t0), { ok: false, reason: 'token not yet valid' })
  assert.equal(verifyJwt(signJwt({ exp: t0 - 10 }, secret), secret, t0).ok, true)
})

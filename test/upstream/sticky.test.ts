import { test } from 'node:test'
import assert from 'node:assert/strict'
import { startProxy, http, type HttpResult } from '../helpers/servers.js'
import { namedBackend } from './helpers.js'

function stickyCookie(res: HttpResult): string | undefined {
  const cookies = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
  return cookies.find((c) => c.startsWith('sy='))
}

test('sticky cookie: set once, honoured, re-balanced and updated when its server dies', async (t) => {
  const [a, b, c] = await Promise.all([namedBackend('a'), namedBackend('b'), namedBackend('c')])
  const proxy = await startProxy({
    upstreams: { g: { servers: [a.url, b.url, c.url], sticky: { cookie: 'sy', ttl: '1h' } } },
    routes: [{ to: 'g' }],
  })
  t.after(() => Promise.all([proxy.close(), a.close(), b.close(), c.close()]))
  const first = await http(proxy.url)
  const cookie = stickyCookie(first)!
  assert.match(cookie, /^sy=[0-9a-z]+; Path=\/; Max-Age=3600; HttpOnly; SameSite=Lax$/)
  assert.ok(!cookie.includes('127.0.0.1') && !/\d+\.\d+/.test(cookie.split(';')[0]!), 'opaque, not the address')
  // The upstream's own Set-Cookie is kept next to ours.
  assert.ok(([] as string[]).concat(first.headers['set-cookie']!).some((x) => x.startsWith('own-')))
  const home = String(first.headers['x-backend'])
  const value = cookie.split(';')[0]!
  for (let i = 0; i < 8; i++) {
    const res = await http(proxy.url, { headers: { cookie: `other=1; ${value}` } })
    assert.equal(res.headers['x-backend'], home)
    assert.equal(stickyCookie(res), undefined, 'no new cookie while the server is the same')
  }
  // A request without the cookie is balanced (and gets one).
  assert.ok(stickyCookie(await http(proxy.url)))
  // Its server dies: the request is retried elsewhere and the cookie names the new server.
  const dead = [a, b, c].find((x) => x.name === home)!
  await dead.close()
  const moved = await http(proxy.url, { headers: { cookie: value } })
  assert.equal(moved.status, 200)
  assert.notEqual(moved.headers['x-backend'], home)
  const updated = stickyCookie(moved)!
  assert.ok(updated && updated.split(';')[0] !== value)
  for (let i = 0; i < 4; i++) {
    const res = await http(proxy.url, { headers: { cookie: updated.split(';')[0]! } })
    assert.equal(res.headers['x-backend'], moved.headers['x-backend'])
  }
})

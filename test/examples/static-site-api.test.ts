import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/static-site-api: files, immutable assets, SPA fallback and the API on one origin', async (t) => {
  const api = mockUpstream(() => Response.json({ hello: 'from the api' }))
  const proxy = await createTestProxy(exampleConfig('static-site-api'), { upstreams: { api } })
  t.after(() => proxy.close())
  const index = readFileSync(new URL('../../examples/static-site-api/public/index.html', import.meta.url), 'utf8')

  const home = await proxy.request('/')
  assert.equal(home.status, 200)
  assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.equal(home.text(), index)
  assert.deepEqual(home.trace.hooksIn('onRequest'), ['serveStatic: answered 200'])
  assert.equal(home.trace.balancer, undefined)
  const etag = home.headers.get('etag')!
  assert.equal((await proxy.request('/', { headers: { 'if-none-match': etag } })).status, 304)

  const js = await proxy.request('/app.js')
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
  const css = await proxy.request('/assets/site.css')
  assert.equal(css.headers.get('cache-control'), 'public, max-age=31536000, immutable')
  assert.equal((await proxy.request('/assets/missing.css')).status, 404)

  const route = await proxy.request('/settings/profile')
  assert.equal(route.status, 200)
  assert.equal(route.text(), index, 'a client-side route gets index.html')
  assert.equal((await proxy.request('/logo.png')).status, 404)

  const res = await proxy.request('/api/hello')
  assert.deepEqual(res.json(), { hello: 'from the api' })
  assert.equal(api.lastRequest?.path, '/hello')
  assert.equal(res.trace.route?.route, 'api')
  const post = await proxy.request('/api/items', { json: { name: 'x' } })
  assert.equal(post.status, 200)
  assert.deepEqual(api.lastRequest?.json(), { name: 'x' })
})

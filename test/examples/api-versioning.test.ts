import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/api-versioning: version by header, media type or path; v1 by default', async (t) => {
  const v1 = mockUpstream(undefined, { name: 'v1' })
  const v2 = mockUpstream(undefined, { name: 'v2' })
  const proxy = await createTestProxy(exampleConfig('api-versioning'), { upstreams: { v1, v2 } })
  t.after(() => proxy.close())
  const cases: Array<[string, Record<string, string>, string, string, string]> = [
    // path, headers, route, served by, path upstream
    ['/users/7', { 'x-api-version': '2' }, 'v2-header', 'v2', '/users/7'],
    ['/users/7', { accept: 'application/vnd.example.v2+json' }, 'v2-media-type', 'v2', '/users/7'],
    ['/v2/users/7', {}, 'v2-path', 'v2', '/users/7'],
    ['/v1/users/7', { 'x-api-version': '2' }, 'v1-path', 'v1', '/users/7'],
    ['/users/7', {}, 'v1-default', 'v1', '/users/7'],
    ['/users/7', { 'x-api-version': '3' }, 'v1-default', 'v1', '/users/7'],
  ]
  for (const [path, headers, route, servedBy, upstreamPath] of cases) {
    const res = await proxy.request(path, { headers })
    const label = `${path} ${JSON.stringify(headers)}`
    assert.equal(res.trace.route?.route, route, `${label}\n${res.trace.describe()}`)
    assert.equal(res.trace.servedBy, servedBy, label)
    assert.equal(res.json<{ path: string }>().path, upstreamPath, label)
  }
  const v2path = await proxy.request('/v2/users/7')
  assert.deepEqual(v2path.trace.route?.params, { splat: 'users/7' })
  assert.equal((await proxy.request('/users')).headers.get('x-api-version'), '1')
})

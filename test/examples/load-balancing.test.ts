import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/load-balancing: round robin over three servers', async (t) => {
  const servers = ['a', 'b', 'c'].map((name) => mockUpstream(undefined, { name }))
  const proxy = await createTestProxy(exampleConfig('load-balancing'), { upstreams: { web: servers } })
  t.after(() => proxy.close())
  const seen: string[] = []
  for (let i = 0; i < 6; i++) {
    const res = await proxy.request('/page')
    assert.equal(res.status, 200)
    assert.equal(res.trace.route?.route, 'web')
    assert.equal(res.trace.balancer?.reason, 'policy round-robin')
    seen.push(res.trace.servedBy!)
  }
  assert.deepEqual(seen, ['a', 'b', 'c', 'a', 'b', 'c'])
  assert.equal((await proxy.request('/healthz')).text(), 'ok')
})

test('examples/load-balancing: a failing server is retried elsewhere, then ejected', async (t) => {
  const a = mockUpstream(undefined, { name: 'a' })
  const b = mockUpstream(() => new Response('overloaded', { status: 503 }), { name: 'b' })
  const c = mockUpstream(undefined, { name: 'c' })
  const proxy = await createTestProxy(exampleConfig('load-balancing'), { upstreams: { web: [a, b, c] } })
  t.after(() => proxy.close())
  const traces = []
  for (let i = 0; i < 6; i++) {
    const res = await proxy.request(`/page/${i}`)
    assert.equal(res.status, 200, 'every request answered by a healthy server')
    traces.push(res.trace)
  }
  const retried = traces.filter((tr) => tr.retries > 0)
  assert.ok(retried.length >= 1)
  const first = retried[0]!
  assert.deepEqual(first.attempts.map((x) => [first.nameOf(x.server), x.outcome, x.retry]), [
    ['b', 'status 503', 'retryable status 503'],
    [first.servedBy, 'status 200', undefined],
  ])
  assert.notEqual(first.servedBy, 'b')
  assert.equal(b.requests.length, 2, 'maxFails 2: b got two requests, then was ejected')
  assert.deepEqual(traces.at(-1)!.balancer!.candidates, [a.url, c.url])
  assert.ok(proxy.logs.some((l) => /healthy → ejected/.test(l.message)))
})

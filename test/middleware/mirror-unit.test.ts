// mirror as a hook with a fake ctx.forward: the real request never waits for or sees the shadow.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mirror } from '../../src/middleware/mirror.js'
import { fakeContext } from './fake-context.js'
import type { UpstreamRequestInfo } from '../../src/config/hooks.js'

function upstreamInfo(method = 'GET'): UpstreamRequestInfo {
  return { method, path: '/x?y=1', headers: new Headers({ 'x-a': '1', 'content-length': '5' }) }
}

test('mirror: sends a copy with method, path and headers; failures are swallowed and counted, warned once per streak', async () => {
  const logs: string[] = []
  const mw = mirror({ group: 'shadow', log: (level, m) => void logs.push(`${level} ${m}`) })
  const ctx = fakeContext()
  ctx.forwardImpl = () => Promise.reject(new Error('ECONNREFUSED'))
  const info = upstreamInfo()
  await mw.onUpstreamRequest!(ctx, info)
  await mw.onUpstreamRequest!(ctx, info) // a retry: copied once only
  assert.equal(ctx.forwards.length, 1)
  assert.deepEqual([ctx.forwards[0]!.group, ctx.forwards[0]!.init.method, ctx.forwards[0]!.init.path, ctx.forwards[0]!.init.body], ['shadow', 'GET', '/x?y=1', null])
  assert.equal((ctx.forwards[0]!.init.headers as Headers).get('x-a'), '1')
  assert.equal((ctx.forwards[0]!.init.headers as Headers).get('content-length'), null)
  assert.equal(info.body, undefined) // no body: the real request is untouched
  for (let i = 0; i < 3; i++) {
    const c = fakeContext()
    c.forwardImpl = () => Promise.reject(new Error('ECONNREFUSED'))
    await mw.onUpstreamRequest!(c, upstreamInfo())
  }
  await new Promise((r) => setImmediate(r))
  assert.deepEqual(mw.stats, { sent: 4, failed: 4, dropped: 0 })
  assert.equal(logs.length, 1)
  assert.match(logs[0]!, /^warn mirror to 'shadow' failed.*ECONNREFUSED/)
  // A success ends the streak: the next failure is logged again.
  await mw.onUpstreamRequest!(fakeContext(), upstreamInfo())
  await new Promise((r) => setImmediate(r))
  const c = fakeContext()
  c.forwardImpl = () => Promise.reject(new Error('again'))
  await mw.onUpstreamRequest!(c, upstreamInfo())
  await new Promise((r) => setImmediate(r))
  assert.equal(logs.length, 2)
})

test('mirror: sample and methods', async () => {
  let r = 0.5
  const mw = mirror({ group: 's', sample: 0.25, methods: ['get'], random: () => r })
  const a = fakeContext()
  await mw.onUpstreamRequest!(a, upstreamInfo())
  assert.equal(a.forwards.length, 0)
  r = 0.1
  const b = fakeContext()
  await mw.onUpstreamRequest!(b, upstreamInfo())
  assert.equal(b.forwards.length, 1)
  const post = fakeContext({ method: 'POST' })
  await mw.onUpstreamRequest!(post, upstreamInfo('POST'))
  assert.equal(post.forwards.length, 0)
  assert.throws(() => mirror({ group: 's', sample: 2 }), /sample/)
})

test('mirror: request body is teed; a shadow that never reads is dropped and the real body flows', async () => {
  const body = 'x'.repeat(200_000)
  const ctx = fakeContext({ method: 'POST', headers: { 'content-length': String(body.length) }, body })
  let shadowBody: ReadableStream<Uint8Array> | null | undefined
  ctx.forwardImpl = (_g, init) => {
    shadowBody = init.body as ReadableStream<Uint8Array>
    return new Promise(() => {}) // a shadow that never answers nor reads
  }
  const mw = mirror({ group: 'shadow', maxLag: '16kb' })
  const info = upstreamInfo('POST')
  await mw.onUpstreamRequest!(ctx, info)
  assert.ok(info.body instanceof ReadableStream)
  assert.ok(shadowBody instanceof ReadableStream)
  const real = await new Response(info.body).text()
  assert.equal(real, body)
  assert.equal(mw.stats.dropped, 1)
  await assert.rejects(new Response(shadowBody).text(), /fell more than 16384 bytes behind/)
  // A shadow that reads gets the whole body too.
  const ctx2 = fakeContext({ method: 'POST', headers: { 'content-length': '11' }, body: 'hello world' })
  let copied: Promise<string> | undefined
  ctx2.forwardImpl = (_g, init) => {
    copied = new Response(init.body as ReadableStream<Uint8Array>).text()
    return Promise.resolve(new Response('ok'))
  }
  const info2 = upstreamInfo('POST')
  await mw.onUpstreamRequest!(ctx2, info2)
  assert.equal(await new Response(info2.body).text(), 'hello world')
  assert.equal(await copied, 'hello world')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { replaceStream } from '../../examples/html-rewrite/rewrite-html.js'
import { exampleConfig } from './helpers.js'

const page = '<html><body><a href="http://legacy.internal:8080/about">About</a><p>hi</p></body></html>'

/** A response whose body arrives in the given pieces. */
function chunked(pieces: string[], type: string): Response {
  const encoder = new TextEncoder()
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of pieces) controller.enqueue(encoder.encode(p))
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': type } })
}

test('examples/html-rewrite: links rewritten and a banner injected, streaming, even across chunk boundaries', async (t) => {
  const legacy = mockUpstream((req) => {
    const url = new URL(req.url)
    if (url.pathname === '/data.json') return Response.json({ link: 'http://legacy.internal:8080/x' })
    // Split inside the origin and inside </body>.
    return chunked(['<html><body><a href="http://legacy.int', 'ernal:8080/about">About</a><p>hi</p></bo', 'dy></html>'], 'text/html; charset=utf-8')
  })
  const proxy = await createTestProxy(exampleConfig('html-rewrite'), { upstreams: { legacy } })
  t.after(() => proxy.close())
  const res = await proxy.request('/', { headers: { 'accept-encoding': 'gzip' } })
  assert.equal(res.text(), '<html><body><a href="/about">About</a><p>hi</p><div class="notice" role="status">This site moves to the new platform on 1 March.</div></body></html>')
  assert.equal(res.headers.get('content-length'), null)
  assert.equal(legacy.lastRequest?.headers.get('accept-encoding'), null, 'identity asked upstream')
  assert.deepEqual(res.trace.hooksIn('onResponse'), ['rewriteHtml: replaced the response (status 200)'])

  const json = await proxy.request('/data.json')
  assert.deepEqual(json.json(), { link: 'http://legacy.internal:8080/x' }, 'other types untouched')
  assert.deepEqual(json.trace.hooksIn('onResponse'), ['rewriteHtml: -'])
})

test('examples/html-rewrite: replaceStream gives the same result for every way of chunking', async () => {
  const pairs = [['http://legacy.internal:8080', ''], ['</body>', '<b>!</b></body>']] as const
  const expected = page.split(pairs[0][0]).join(pairs[0][1]).split(pairs[1][0]).join(pairs[1][1])
  for (let size = 1; size <= page.length; size++) {
    const pieces: string[] = []
    for (let i = 0; i < page.length; i += size) pieces.push(page.slice(i, i + size))
    const out = await new Response(
      new ReadableStream<string>({ start(c) { pieces.forEach((p) => c.enqueue(p)); c.close() } }).pipeThrough(replaceStream(pairs)).pipeThrough(new TextEncoderStream()),
    ).text()
    assert.equal(out, expected, `chunks of ${size}`)
  }
})

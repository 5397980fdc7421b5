// compression as a hook (no proxy): what is compressed, headers, and a real zlib round trip.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { compression } from '../../src/middleware/compression.js'
import { fakeContext } from './fake-context.js'

const text = 'hello compression '.repeat(200)

function response(body: string | null, headers: Record<string, string> = {}, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8', ...(body !== null ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } })
}

async function run(accept: string | undefined, res: Response, init: { method?: string; headers?: Record<string, string> } = {}, options = {}) {
  const ctx = fakeContext({ method: init.method, headers: { ...(accept === undefined ? {} : { 'accept-encoding': accept }), ...init.headers } })
  return (await compression(options).onResponse!(ctx, res)) ?? res
}

test('compression: br preferred, gzip by q-value, streamed, headers fixed up', async () => {
  const br = await run('gzip, br', response(text, { etag: '"abc"', vary: 'Origin', 'accept-ranges': 'bytes' }))
  assert.equal(br.headers.get('content-encoding'), 'br')
  assert.equal(br.headers.get('content-length'), null)
  assert.equal(br.headers.get('accept-ranges'), null)
  assert.equal(br.headers.get('etag'), 'W/"abc"')
  assert.equal(br.headers.get('vary'), 'Origin, Accept-Encoding')
  const brBody = Buffer.from(await br.arrayBuffer())
  assert.ok(brBody.length < text.length / 5)
  assert.equal(brotliDecompressSync(brBody).toString(), text)
  const gz = await run('br;q=0, gzip', response(text, { etag: 'W/"weak"' }))
  assert.equal(gz.headers.get('content-encoding'), 'gzip')
  assert.equal(gz.headers.get('etag'), 'W/"weak"')
  assert.equal(gz.headers.get('vary'), 'Accept-Encoding')
  assert.equal(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString(), text)
  const onlyGzip = await run('br', response(text), {}, { encodings: ['gzip'] })
  assert.equal(onlyGzip.headers.get('content-encoding'), null)
  assert.equal(onlyGzip.headers.get('vary'), 'Accept-Encoding')
  // Unknown length (chunked) bodies are compressed.
  const chunked = await run('gzip', new Response(text, { headers: { 'content-type': 'application/json' } }))
  assert.equal(chunked.headers.get('content-encoding'), 'gzip')
  await chunked.body!.cancel()
})

test('compression: identity when not acceptable (q=0, none, no header) — with Vary', async () => {
  for (const accept of [undefined, '', 'identity', 'gzip;q=0, br;q=0', '*;q=0', 'deflate']) {
    const res = await run(accept, response(text))
    assert.equal(res.headers.get('content-encoding'), null, String(accept))
    assert.equal(res.headers.get('content-length'), String(text.length))
    assert.equal(res.headers.get('vary'), 'Accept-Encoding')
    assert.equal(await res.text(), text)
  }
})

test('compression: left alone — small, encoded, no-transform, 206/Content-Range, 204/304, HEAD, images', async () => {
  const untouched = async (res: Response, init: { method?: string } = {}, label = '') => {
    const out = await run('gzip, br', res, init)
    assert.equal(out, res, label)
  }
  await untouched(response('tiny'), {}, 'small')
  await untouched(response(text, { 'content-encoding': 'gzip' }), {}, 'encoded')
  await untouched(response(text, { 'cache-control': 'public, no-transform' }), {}, 'no-transform')
  await untouched(response(text, { 'content-range': 'bytes 0-9/100' }, 206), {}, '206')
  await untouched(response(text, { 'content-range': 'bytes 0-9/100' }), {}, 'content-range')
  await untouched(response(null, {}, 204), {}, '204')
  await untouched(response(null, {}, 304), {}, '304')
  await untouched(response(text), { method: 'HEAD' }, 'HEAD')
  await untouched(response(text, { 'content-type': 'image/png' }), {}, 'png')
  await untouched(response(text, { 'content-type': 'application/zip' }), {}, 'zip')
  await untouched(response(text, { 'content-type': 'text/event-stream' }), {}, 'sse')
  const svg = await run('gzip', response(text, { 'content-type': 'image/svg+xml' }))
  assert.equal(svg.headers.get('content-encoding'), 'gzip')
  await svg.body!.cancel()
  // minSize as a unit string; Vary: * kept as is.
  const star = await run('gzip', response(text, { vary: '*' }), {}, { minSize: '1kb' })
  assert.equal(star.headers.get('vary'), '*')
  await star.body!.cancel()
  assert.throws(() => compression({ encodings: ['deflate' as 'gzip'] }), /unsupported/)
})

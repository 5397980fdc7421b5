// serveStatic through a real proxy: static site + API fall-through, traversal on the wire, Range/304.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startProxy, http, rawRequest } from '../helpers/servers.js'
import { serveStatic, compression } from '../../src/middleware/index.js'
import { makeSite } from './static-files.js'

test('serveStatic + to: api — files from disk, everything else to the API', async (t) => {
  const site = await makeSite()
  const api = await echoBackend('api')
  const proxy = await startProxy({
    upstreams: { api: { servers: [api.url] } },
    routes: [{ match: { path: '/*' }, to: 'api', use: [serveStatic({ root: site.root, maxAge: '1m' })] }],
  })
  t.after(() => site.cleanup())
  t.after(() => api.close())
  t.after(() => proxy.close())
  const home = await http(`${proxy.url}/`)
  assert.deepEqual([home.status, home.body.toString(), home.headers['content-type']], [200, '<h1>home</h1>', 'text/html; charset=utf-8'])
  assert.equal(home.headers['cache-control'], 'public, max-age=60')
  const apiRes = await http(`${proxy.url}/api/users`, { method: 'GET' })
  assert.equal(apiRes.headers['x-backend'], 'api')
  const post = await http(`${proxy.url}/app.js`, { method: 'POST', body: 'x' })
  assert.equal(post.headers['x-backend'], 'api') // only GET/HEAD are served from disk
  const big = await http(`${proxy.url}/big.bin`)
  assert.ok(big.body.equals(site.big))
  const head = await http(`${proxy.url}/big.bin`, { method: 'HEAD' })
  assert.deepEqual([head.status, head.headers['content-length'], head.body.length], [200, '300000', 0])
})

test('serveStatic on the wire: traversal attempts never return files outside root', async (t) => {
  const site = await makeSite()
  const proxy = await startProxy({
    routes: [{ match: { path: '/*' }, use: [serveStatic({ root: site.root })], respond: { status: 404, body: 'fallback' } }],
  })
  t.after(() => site.cleanup())
  t.after(() => proxy.close())
  for (const target of ['/../secret.txt', '/../../../../etc/passwd', '/%2e%2e/secret.txt', '/%2E%2E/%2E%2E/etc/passwd', '/..%2fsecret.txt',
    '/..%2Fsecret.txt', '/docs/..%2f..%2fsecret.txt', '/..%5csecret.txt', '//etc/passwd', '/%2fetc%2fpasswd', '/app.js%00.html',
    '/escape.txt', '/escape-dir/secret.txt', '/.env', 'http://evil.test/../secret.txt']) {
    const raw = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n`)
    const status = Number(raw.slice(9, 12))
    assert.ok([400, 403, 404].includes(status), `${target}: ${status}`)
    assert.doesNotMatch(raw, /TOP SECRET|root:x:|PASSWORD/, target)
  }
})

test('serveStatic on the wire: 304, 206, 416; compression leaves ranges alone', async (t) => {
  const site = await makeSite()
  const proxy = await startProxy({
    routes: [{ match: { path: '/*' }, use: [compression({ minSize: 10 }), serveStatic({ root: site.root })], respond: { status: 404, body: 'none' } }],
  })
  t.after(() => site.cleanup())
  t.after(() => proxy.close())
  const first = await http(`${proxy.url}/page.html`)
  const etag = first.headers.etag as string
  assert.match(etag, /^"/)
  const cached = await http(`${proxy.url}/page.html`, { headers: { 'if-none-match': etag } })
  assert.deepEqual([cached.status, cached.body.length], [304, 0])
  const since = await http(`${proxy.url}/page.html`, { headers: { 'if-modified-since': first.headers['last-modified']! } })
  assert.equal(since.status, 304)
  const part = await http(`${proxy.url}/big.bin`, { headers: { range: 'bytes=10-19' } })
  assert.deepEqual([part.status, part.headers['content-range'], part.headers['content-length']], [206, 'bytes 10-19/300000', '10'])
  assert.ok(part.body.equals(site.big.subarray(10, 20)))
  const textRange = await http(`${proxy.url}/page.html`, { headers: { range: 'bytes=0-9', 'accept-encoding': 'gzip' } })
  assert.deepEqual([textRange.status, textRange.headers['content-encoding'], textRange.body.toString()], [206, undefined, '<p>lorem i'])
  const none = await http(`${proxy.url}/big.bin`, { headers: { range: 'bytes=999999-' } })
  assert.deepEqual([none.status, none.headers['content-range']], [416, 'bytes */300000'])
  // The compressed representation gets a weak ETag; If-None-Match with it still matches (weak comparison).
  const gz = await http(`${proxy.url}/page.html`, { headers: { 'accept-encoding': 'gzip' } })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.equal(gz.headers.etag, `W/${etag}`)
  assert.equal((await http(`${proxy.url}/page.html`, { headers: { 'accept-encoding': 'gzip', 'if-none-match': `W/${etag}` } })).status, 304)
})

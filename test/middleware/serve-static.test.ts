// serveStatic as a hook (real files in a temp folder, no proxy); the proxy tests are in e2e files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { serveStatic } from '../../src/middleware/serve-static.js'
import { fakeContext } from './fake-context.js'
import { makeSite } from './static-files.js'

async function call(mw: ReturnType<typeof serveStatic>, path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const res = await mw.onRequest!(fakeContext({ url: `http://site.test${path}`, ...init }))
  return res ?? undefined
}

test('serveStatic: files, index, directory redirect, content types, caching headers, fall-through', async (t) => {
  const site = await makeSite()
  t.after(() => site.cleanup())
  const mw = serveStatic({ root: site.root, maxAge: '1h', immutable: true })
  const home = (await call(mw, '/'))!
  assert.equal(home.status, 200)
  assert.equal(await home.text(), '<h1>home</h1>')
  assert.equal(home.headers.get('content-type'), 'text/html; charset=utf-8')
  assert.equal(home.headers.get('cache-control'), 'public, max-age=3600, immutable')
  assert.equal(home.headers.get('content-length'), '13')
  assert.match(home.headers.get('etag')!, /^"d-[0-9a-f]+"$/)
  const js = (await call(mw, '/app.js'))!
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
  assert.equal(js.headers.get('last-modified'), 'Tue, 02 Jan 2024 03:04:05 GMT')
  assert.equal(js.headers.get('accept-ranges'), 'bytes')
  assert.equal(await js.text(), 'console.log(1)\n')
  assert.equal(await (await call(mw, '/a%20b.txt'))!.text(), 'spaced')
  assert.equal(await (await call(mw, '/inside-link.js'))!.text(), 'console.log(1)\n') // symlink within root
  const dir = (await call(mw, '/docs?x=1'))!
  assert.deepEqual([dir.status, dir.headers.get('location')], [301, '/docs/?x=1'])
  assert.equal(await (await call(mw, '/docs/'))!.text(), '<h1>docs</h1>')
  const empty = (await call(mw, '/empty.txt'))!
  assert.deepEqual([empty.status, empty.headers.get('content-length'), await empty.text()], [200, '0', ''])
  // Missing files, directories without index, other methods: fall through.
  assert.equal(await call(mw, '/missing.txt'), undefined)
  assert.equal(await call(mw, '/empty-dir/'), undefined)
  assert.equal(await call(mw, '/app.js', { method: 'POST' }), undefined)
  // Streams big files.
  const big = (await call(mw, '/big.bin'))!
  assert.equal(big.headers.get('content-type'), 'application/octet-stream')
  assert.ok(Buffer.from(await big.arrayBuffer()).equals(site.big))
  // HEAD: headers only.
  const head = (await call(mw, '/big.bin', { method: 'HEAD' }))!
  assert.deepEqual([head.status, head.headers.get('content-length'), head.body], [200, '300000', null])
  // fallthrough: false answers 404 itself; prefix maps a URL folder to root.
  const strict = serveStatic({ root: site.root, fallthrough: false, prefix: '/assets/' })
  assert.equal((await call(strict, '/assets/missing'))!.status, 404)
  assert.equal(await (await call(strict, '/assets/app.js'))!.text(), 'console.log(1)\n')
  assert.equal(await call(strict, '/app.js'), undefined) // outside the prefix: not ours
  assert.equal(await call(serveStatic({ root: site.root, index: false }), '/docs/'), undefined)
})

test('serveStatic: traversal attempts never reach files outside root', async (t) => {
  const site = await makeSite()
  t.after(() => site.cleanup())
  const mw = serveStatic({ root: site.root, fallthrough: false })
  // (The runtime canonicalizes `/../` and `%2e%2e` before hooks run; the hook is safe on its own too.)
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2E%2E%2Fsecret.txt', '/..%5csecret.txt',
    '/docs/..%2f..%2fsecret.txt', '/%2fetc%2fpasswd', '//etc/passwd', '/app.js%00.png', '/escape.txt', '/escape-dir/secret.txt', '/%E0%A4%A']) {
    const res = (await call(mw, path))!
    assert.equal(res.status, 404, path)
    assert.doesNotMatch(await res.text(), /SECRET|root:/, path)
  }
})

test('serveStatic: dotfiles deny / ignore / allow', async (t) => {
  const site = await makeSite()
  t.after(() => site.cleanup())
  assert.equal((await call(serveStatic({ root: site.root }), '/.env'))!.status, 403)
  assert.equal((await call(serveStatic({ root: site.root }), '/.git/config'))!.status, 403)
  assert.equal(await call(serveStatic({ root: site.root }), '/.missing'), undefined)
  assert.equal(await call(serveStatic({ root: site.root, dotfiles: 'ignore' }), '/.env'), undefined)
  assert.equal(await (await call(serveStatic({ root: site.root, dotfiles: 'allow' }), '/.env'))!.text(), 'PASSWORD=x')
})

test('serveStatic: conditional requests → 304; ranges → 206 / 416; If-Range', async (t) => {
  const site = await makeSite()
  t.after(() => site.cleanup())
  const mw = serveStatic({ root: site.root })
  const first = (await call(mw, '/big.bin'))!
  await first.body!.cancel()
  const etag = first.headers.get('etag')!
  const lastModified = first.headers.get('last-modified')!
  const inm = (await call(mw, '/big.bin', { headers: { 'if-none-match': etag } }))!
  assert.deepEqual([inm.status, inm.body, inm.headers.get('etag')], [304, null, etag])
  // (A body a test does not read is cancelled: that closes its file, as the proxy does.)
  const other = (await call(mw, '/big.bin', { headers: { 'if-none-match': '"other"' } }))!
  assert.equal(other.status, 200)
  await other.body!.cancel()
  assert.equal((await call(mw, '/big.bin', { headers: { 'if-modified-since': lastModified } }))!.status, 304)
  const older = (await call(mw, '/big.bin', { headers: { 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' } }))!
  assert.equal(older.status, 200)
  await older.body!.cancel()
  const part = (await call(mw, '/big.bin', { headers: { range: 'bytes=100-199' } }))!
  assert.equal(part.status, 206)
  assert.equal(part.headers.get('content-range'), 'bytes 100-199/300000')
  assert.equal(part.headers.get('content-length'), '100')
  assert.ok(Buffer.from(await part.arrayBuffer()).equals(site.big.subarray(100, 200)))
  const suffix = (await call(mw, '/big.bin', { headers: { range: 'bytes=-10' } }))!
  assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(site.big.subarray(-10)))
  const bad = (await call(mw, '/big.bin', { headers: { range: 'bytes=300000-' } }))!
  assert.deepEqual([bad.status, bad.headers.get('content-range')], [416, 'bytes */300000'])
  const multi = (await call(mw, '/big.bin', { headers: { range: 'bytes=0-1,5-6' } }))!
  assert.deepEqual([multi.status, multi.headers.get('content-length')], [200, '300000'])
  await multi.body!.cancel()
  const ifRangeOk = (await call(mw, '/big.bin', { headers: { range: 'bytes=0-0', 'if-range': etag } }))!
  assert.equal(ifRangeOk.status, 206)
  await ifRangeOk.body!.cancel()
  const ifRangeStale = (await call(mw, '/big.bin', { headers: { range: 'bytes=0-0', 'if-range': '"stale"' } }))!
  assert.equal(ifRangeStale.status, 200)
  await ifRangeStale.body!.cancel()
  // HEAD ignores Range.
  assert.equal((await call(mw, '/big.bin', { method: 'HEAD', headers: { range: 'bytes=0-0' } }))!.status, 200)
})

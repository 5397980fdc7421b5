import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { once } from 'node:events'
import { startBackend, echoBackend, startProxy, http, rawRequest, type TestServer } from '../helpers/servers.js'

interface Echo { name: string; method: string; url: string; rawHeaders: string[]; body: string }

function headerValues(raw: string[], name: string): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!)
  return out
}

async function proxyTo(t: { after: (fn: () => Promise<void>) => void }, backend: TestServer, extra: Record<string, unknown> = {}) {
  const proxy = await startProxy({ upstreams: { b: { servers: [backend.url], ...extra } }, routes: [{ match: { path: '/*' }, to: 'b' }] })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  return proxy
}

test('method, path, query, repeated headers and body reach the upstream', async (t) => {
  const proxy = await proxyTo(t, await echoBackend())
  const res = await http(`${proxy.url}/a/b?x=1&x=2&y=%20z`, {
    method: 'PATCH',
    headers: ['X-Multi', 'one', 'X-Multi', 'two', 'Content-Type', 'text/plain', 'Content-Length', '5'],
    body: 'hello',
  })
  assert.equal(res.status, 200)
  const echo = JSON.parse(res.body.toString()) as Echo
  assert.equal(echo.method, 'PATCH')
  assert.equal(echo.url, '/a/b?x=1&x=2&y=%20z')
  assert.deepEqual(headerValues(echo.rawHeaders, 'x-multi'), ['one', 'two'])
  assert.equal(echo.body, 'hello')
  assert.deepEqual(headerValues(echo.rawHeaders, 'content-length'), ['5'])
})

test('the upstream gets the canonical path in origin-form', async (t) => {
  const proxy = await proxyTo(t, await echoBackend())
  const raw = await rawRequest(proxy.port, 'GET http://example.com/a/../b/%7Ec//d?q HTTP/1.0\r\nHost: other\r\n\r\n')
  const echo = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Echo
  assert.equal(echo.url, '/b/~c/d?q')
})

test('10 MB upload and download arrive byte for byte', async (t) => {
  const payload = randomBytes(10 * 1024 * 1024)
  const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex')
  const backend = await startBackend((req, res) => {
    if (req.method === 'GET') return void res.end(payload)
    const hash = createHash('sha256')
    req.on('data', (c: Buffer) => hash.update(c))
    req.on('end', () => res.end(hash.digest('hex')))
  })
  const proxy = await proxyTo(t, backend)
  const down = await http(`${proxy.url}/file`)
  assert.equal(down.body.length, payload.length)
  assert.equal(digest(down.body), digest(payload))
  const up = await http(`${proxy.url}/upload`, { method: 'POST', body: payload })
  assert.equal(up.body.toString(), digest(payload))
  // A chunked upload (no Content-Length) is streamed too.
  const chunked = await new Promise<string>((resolve, reject) => {
    const req = httpRequest(`${proxy.url}/upload`, { method: 'PUT', agent: false }, (res) => {
      let s = ''
      res.on('data', (c: Buffer) => (s += c))
      res.on('end', () => resolve(s))
    })
    req.on('error', reject)
    for (let i = 0; i < payload.length; i += 1 << 20) req.write(payload.subarray(i, i + (1 << 20)))
    req.end()
  })
  assert.equal(chunked, digest(payload))
})

test('status codes pass through, including 204 and 304 without bodies', async (t) => {
  const backend = await startBackend((req, res) => {
    const status = Number(req.url!.slice(1))
    res.writeHead(status, status === 304 ? { etag: '"v1"' } : { 'content-type': 'text/plain' })
    res.end(status === 204 || status === 304 ? undefined : `status ${status}`)
  })
  const proxy = await proxyTo(t, backend)
  for (const status of [200, 201, 204, 301, 304, 400, 404, 418, 500, 503]) {
    const res = await http(`${proxy.url}/${status}`)
    assert.equal(res.status, status)
    if (status === 204 || status === 304) assert.equal(res.body.length, 0)
    else assert.equal(res.body.toString(), `status ${status}`)
  }
  const notModified = await http(`${proxy.url}/304`)
  assert.equal(notModified.headers.etag, '"v1"')
})

test('HEAD responses keep Content-Length and send no body', async (t) => {
  const backend = await startBackend((_req, res) => {
    res.writeHead(200, { 'content-length': '1234', 'content-type': 'text/plain' })
    res.end()
  })
  const proxy = await proxyTo(t, backend)
  const res = await http(`${proxy.url}/`, { method: 'HEAD' })
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-length'], '1234')
  assert.equal(res.body.length, 0)
})

test('multiple Set-Cookie headers survive intact', async (t) => {
  const backend = await startBackend((_req, res) => {
    res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'c=3'])
    res.end('ok')
  })
  const proxy = await proxyTo(t, backend)
  const res = await http(`${proxy.url}/`)
  assert.deepEqual(res.headers['set-cookie'], ['a=1; Path=/; HttpOnly', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'c=3'])
})

test('the client gets the first chunk while the upstream still holds the rest', async (t) => {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  const backend = await startBackend(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first chunk\n')
    await released
    res.end('rest\n')
  })
  const proxy = await proxyTo(t, backend)
  const req = httpRequest(`${proxy.url}/stream`, { agent: false })
  req.end()
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage]
  const [first] = (await once(res, 'data')) as [Buffer]
  assert.equal(first.toString(), 'first chunk\n') // arrived while the backend is still waiting
  release()
  let rest = ''
  for await (const c of res) rest += c
  assert.equal(rest, 'rest\n')
})

test('hop-by-hop and Connection-nominated headers are removed both ways', async (t) => {
  const backend = await startBackend((req, res) => {
    res.writeHead(200, [
      'Connection', 'X-Upstream-Hop, keep-alive', 'X-Upstream-Hop', 'secret', 'Keep-Alive', 'timeout=99',
      'Proxy-Authenticate', 'Basic', 'X-Kept', 'yes', 'Upgrade', 'h2c',
    ])
    res.end(JSON.stringify(req.rawHeaders))
  })
  const proxy = await proxyTo(t, backend)
  const res = await http(`${proxy.url}/`, {
    headers: [
      'Connection', 'keep-alive, X-Client-Hop', 'X-Client-Hop', 'a', 'Keep-Alive', '300', 'TE', 'trailers',
      'Proxy-Authorization', 'Basic Zm9v', 'Proxy', 'http://evil', 'Upgrade', 'websocket', 'X-Normal', 'kept',
    ],
  })
  const upstreamSaw = (JSON.parse(res.body.toString()) as string[]).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
  for (const gone of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization', 'proxy', 'upgrade']) {
    assert.ok(!upstreamSaw.includes(gone), `${gone} reached the upstream`)
  }
  assert.ok(upstreamSaw.includes('x-normal'))
  const clientSaw = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase())
  for (const gone of ['x-upstream-hop', 'upgrade']) assert.ok(!clientSaw.includes(gone), `${gone} reached the client`)
  assert.ok(!res.rawHeaders.includes('timeout=99'))
  assert.equal(res.headers['x-kept'], 'yes')
})

test('X-Forwarded-For is appended; X-Forwarded-Proto/Host set; Forwarded optional', async (t) => {
  const backend = await echoBackend()
  const proxy = await startProxy({
    forwardedHeaders: { forwarded: true },
    upstreams: { b: { servers: [backend.url] } },
    routes: [{ to: 'b' }],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const res = await http(`${proxy.url}/`, {
    headers: ['Host', 'shop.example:8080', 'X-Forwarded-For', '203.0.113.9', 'X-Forwarded-For', '198.51.100.2', 'X-Forwarded-Proto', 'https', 'Forwarded', 'for=203.0.113.9'],
  })
  const raw = (JSON.parse(res.body.toString()) as Echo).rawHeaders
  assert.deepEqual(headerValues(raw, 'x-forwarded-for'), ['203.0.113.9, 198.51.100.2, 127.0.0.1'])
  assert.deepEqual(headerValues(raw, 'x-forwarded-proto'), ['http'])
  assert.deepEqual(headerValues(raw, 'x-forwarded-host'), ['shop.example:8080'])
  assert.deepEqual(headerValues(raw, 'forwarded'), ['for=203.0.113.9, for=127.0.0.1;host="shop.example:8080";proto=http'])
  assert.deepEqual(headerValues(raw, 'host'), ['shop.example:8080'])
})

test('Host: preserved by default, the server\'s with host: upstream, or fixed', async (t) => {
  const backend = await echoBackend()
  t.after(() => backend.close())
  for (const [mode, expected] of [['preserve', 'client.example'], ['upstream', `127.0.0.1:${backend.port}`], ['internal.svc', 'internal.svc']] as const) {
    const proxy = await startProxy({ upstreams: { b: { servers: [backend.url], host: mode } }, routes: [{ to: 'b' }] })
    const res = await http(`${proxy.url}/`, { headers: { host: 'client.example' } })
    await proxy.close()
    assert.deepEqual(headerValues((JSON.parse(res.body.toString()) as Echo).rawHeaders, 'host'), [expected], mode)
  }
})

test('route header rules and rewrites apply', async (t) => {
  const backend = await echoBackend()
  const proxy = await startProxy({
    upstreams: { b: { servers: [backend.url] } },
    routes: [
      { match: { path: '/v1/*' }, to: 'b', rewrite: { stripPrefix: '/v1' }, headers: { request: { set: { 'x-version': '1' }, remove: ['cookie'] }, response: { set: { 'x-proxy': 'sy' }, remove: ['x-backend'] } } },
      { match: { path: '/items/:id' }, to: 'b', rewrite: { path: '/api/item/:id' } },
      { match: { path: '/re/*' }, to: 'b', rewrite: { replace: { pattern: /^\/re\/(\w+)/, with: '/regex/$1/../$1' } } },
      { match: { path: '/pre/*' }, to: 'b', rewrite: { stripPrefix: '/pre', addPrefix: '/internal' } },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const v1 = await http(`${proxy.url}/v1/users?page=2`, { headers: { cookie: 'a=b', 'x-version': 'client' } })
  const echo = JSON.parse(v1.body.toString()) as Echo
  assert.equal(echo.url, '/users?page=2')
  assert.deepEqual(headerValues(echo.rawHeaders, 'x-version'), ['1'])
  assert.deepEqual(headerValues(echo.rawHeaders, 'cookie'), [])
  assert.equal(v1.headers['x-proxy'], 'sy')
  assert.equal(v1.headers['x-backend'], undefined)
  assert.equal((JSON.parse((await http(`${proxy.url}/v1`)).body.toString()) as Echo).url, '/')
  assert.equal((JSON.parse((await http(`${proxy.url}/items/42`)).body.toString()) as Echo).url, '/api/item/42')
  // The rewritten path is canonicalized again: '/regex/abc/../abc' → '/regex/abc'.
  assert.equal((JSON.parse((await http(`${proxy.url}/re/abc`)).body.toString()) as Echo).url, '/regex/abc')
  assert.equal((JSON.parse((await http(`${proxy.url}/pre/x`)).body.toString()) as Echo).url, '/internal/x')
})

test('round robin spreads requests across servers in turn', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c'].map((n) => echoBackend(n)))
  const proxy = await startProxy({ upstreams: { g: { servers: backends.map((b) => b.url) } }, routes: [{ to: 'g' }] })
  t.after(() => proxy.close())
  t.after(() => Promise.all(backends.map((b) => b.close())).then(() => {}))
  const names: string[] = []
  for (let i = 0; i < 6; i++) names.push((await http(`${proxy.url}/`)).headers['x-backend'] as string)
  assert.deepEqual(names, ['a', 'b', 'c', 'a', 'b', 'c'])
})

test('upstream keep-alive: sequential requests share one connection; a chunked upload and a Content-Length one arrive intact', async (t) => {
  let connections = 0
  const backend = await echoBackend()
  backend.server.on('connection', () => connections++)
  const proxy = await proxyTo(t, backend)
  for (let i = 0; i < 5; i++) assert.equal((await http(`${proxy.url}/k${i}`)).status, 200)
  assert.equal(connections, 1)
  const chunked = await new Promise<Echo>((resolve, reject) => {
    const req = httpRequest(`${proxy.url}/up`, { method: 'POST', agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve(JSON.parse(body) as Echo))
    })
    req.on('error', reject)
    req.write('one,')
    setImmediate(() => req.end('two'))
  })
  assert.equal(chunked.body, 'one,two')
  assert.deepEqual(headerValues(chunked.rawHeaders, 'transfer-encoding'), ['chunked'])
  const sized = JSON.parse((await http(`${proxy.url}/up`, { method: 'PUT', body: 'sized' })).body.toString()) as Echo
  assert.deepEqual(headerValues(sized.rawHeaders, 'content-length'), ['5'])
  assert.equal(sized.body, 'sized')
  assert.equal(connections, 1)
})

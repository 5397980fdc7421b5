// compression, trafficSplit, mirror — through a real proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { startBackend, startProxy, http } from '../helpers/servers.js'
import { compression, trafficSplit, mirror } from '../../src/middleware/index.js'
import { closedPort, until, chunkedRequest } from './e2e-helpers.js'
import type { IncomingMessage, ServerResponse } from 'node:http'

const page = 'switchyard '.repeat(1000)

test('compression: negotiated by Accept-Encoding (q=0, identity), streamed, Vary added', async (t) => {
  const backend = await startBackend((req, res) => {
    if (req.url === '/png') return res.writeHead(200, { 'content-type': 'image/png', 'content-length': '4000' }).end(Buffer.alloc(4000))
    if (req.url === '/small') return res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end('small')
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write(page)
      return setImmediate(() => res.end(page))
    }
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(page.length), etag: '"v1"' }).end(page)
  })
  const proxy = await startProxy({ upstreams: { web: { servers: [backend.url] } }, use: [compression()], routes: [{ to: 'web' }] })
  t.after(() => proxy.close())
  t.after(() => backend.close())
  const br = await http(`${proxy.url}/`, { headers: { 'accept-encoding': 'gzip, deflate, br' } })
  assert.equal(br.headers['content-encoding'], 'br')
  assert.equal(br.headers['content-length'], undefined)
  assert.equal(br.headers.vary, 'Accept-Encoding')
  assert.equal(br.headers.etag, 'W/"v1"')
  assert.equal(brotliDecompressSync(br.body).toString(), page)
  const gz = await http(`${proxy.url}/`, { headers: { 'accept-encoding': 'br;q=0, gzip;q=0.5' } })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.equal(gunzipSync(gz.body).toString(), page)
  const none = await http(`${proxy.url}/`, { headers: { 'accept-encoding': 'gzip;q=0, br;q=0, identity' } })
  assert.deepEqual([none.headers['content-encoding'], none.body.toString().length, none.headers.vary], [undefined, page.length, 'Accept-Encoding'])
  assert.equal((await http(`${proxy.url}/`)).headers['content-encoding'], undefined)
  const chunked = await http(`${proxy.url}/stream`, { headers: { 'accept-encoding': 'gzip' } })
  assert.equal(gunzipSync(chunked.body).toString(), page + page)
  assert.equal((await http(`${proxy.url}/png`, { headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined)
  assert.equal((await http(`${proxy.url}/small`, { headers: { 'accept-encoding': 'gzip' } })).headers['content-encoding'], undefined)
  const head = await http(`${proxy.url}/`, { method: 'HEAD', headers: { 'accept-encoding': 'gzip' } })
  assert.equal(head.headers['content-encoding'], undefined)
})

function named(name: string, seen?: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    seen?.push(`${req.method} ${req.url}`)
    req.resume()
    req.on('end', () => res.writeHead(200, { 'x-backend': name }).end(name))
  }
}

test('trafficSplit: weighted distribution, cookie stickiness and header hashing', async (t) => {
  const stable = await startBackend(named('stable'))
  const canary = await startBackend(named('canary'))
  let i = 0
  const proxy = await startProxy({
    upstreams: { stable: { servers: [stable.url] }, canary: { servers: [canary.url] } },
    routes: [
      { match: { path: '/random/*' }, to: 'stable', use: [trafficSplit({ groups: { stable: 3, canary: 1 }, random: () => (i++ % 4) / 4 })] },
      { match: { path: '/cookie/*' }, to: 'stable', use: [trafficSplit({ groups: { stable: 1, canary: 1 }, sticky: { cookie: 'grp' } })] },
      { match: { path: '/header/*' }, to: 'stable', use: [trafficSplit({ groups: { stable: 1, canary: 1 }, sticky: { header: 'x-user' } })] },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => stable.close())
  t.after(() => canary.close())
  const counts: Record<string, number> = {}
  for (let n = 0; n < 40; n++) {
    const b = (await http(`${proxy.url}/random/x`)).headers['x-backend'] as string
    counts[b] = (counts[b] ?? 0) + 1
  }
  assert.deepEqual(counts, { stable: 30, canary: 10 })
  const first = await http(`${proxy.url}/cookie/x`)
  const cookie = (first.headers['set-cookie'] as string[])[0]!
  const group = first.headers['x-backend'] as string
  assert.match(cookie, new RegExp(`^grp=${group}; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Lax$`))
  for (let n = 0; n < 10; n++) {
    const again = await http(`${proxy.url}/cookie/x`, { headers: { cookie: `grp=${group}` } })
    assert.equal(again.headers['x-backend'], group)
    assert.equal(again.headers['set-cookie'], undefined)
  }
  const forced = await http(`${proxy.url}/cookie/x`, { headers: { cookie: 'grp=canary' } })
  assert.equal(forced.headers['x-backend'], 'canary')
  const users = new Set<string>()
  for (let u = 0; u < 30; u++) {
    const a = (await http(`${proxy.url}/header/x`, { headers: { 'x-user': `user-${u}` } })).headers['x-backend'] as string
    const b = (await http(`${proxy.url}/header/y`, { headers: { 'x-user': `user-${u}` } })).headers['x-backend'] as string
    assert.equal(a, b)
    users.add(a)
  }
  assert.equal(users.size, 2)
})

test('mirror: copies reach the shadow (with bodies); the real response is unaffected when the shadow is down or stuck', async (t) => {
  const realSeen: string[] = []
  const shadowSeen: string[] = []
  const shadowBodies: string[] = []
  const real = await startBackend((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      realSeen.push(`${req.method} ${req.url} ${Buffer.concat(chunks).length}`)
      res.writeHead(200, { 'x-backend': 'real' }).end('real answer')
    })
  })
  const shadow = await startBackend((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      shadowSeen.push(`${req.method} ${req.url}`)
      shadowBodies.push(Buffer.concat(chunks).toString())
      res.writeHead(500).end('shadow broke')
    })
  })
  const stuckRequests: Array<() => void> = []
  // Accepts the request, never reads its body and never answers.
  const stuck = await startBackend((req, res) => {
    req.pause()
    stuckRequests.push(() => res.destroy())
  })
  const downPort = await closedPort()
  const logs: string[] = []
  const log = (level: string, m: string) => void logs.push(`${level} ${m}`)
  const okMirror = mirror({ group: 'shadow', log })
  const downMirror = mirror({ group: 'down', log })
  const stuckMirror = mirror({ group: 'stuck', maxLag: '32kb', log })
  const proxy = await startProxy({
    upstreams: {
      real: { servers: [real.url] }, shadow: { servers: [shadow.url] },
      down: { servers: [`http://127.0.0.1:${downPort}`] }, stuck: { servers: [stuck.url] },
    },
    routes: [
      { match: { path: '/ok/*' }, to: 'real', use: [okMirror] },
      { match: { path: '/down/*' }, to: 'real', use: [downMirror] },
      { match: { path: '/stuck/*' }, to: 'real', use: [stuckMirror] },
    ],
  })
  t.after(() => stuckRequests.forEach((f) => f()))
  t.after(() => stuck.close())
  t.after(() => proxy.close())
  t.after(() => real.close())
  t.after(() => shadow.close())
  // A working shadow gets the same request and body; its 500 does not matter.
  const a = await http(`${proxy.url}/ok/a?x=1`, { method: 'POST', body: 'payload' })
  assert.deepEqual([a.status, a.body.toString()], [200, 'real answer'])
  await until(() => shadowSeen.length === 1, 'the shadow copy')
  assert.deepEqual(shadowSeen, ['POST /ok/a?x=1'])
  assert.deepEqual(shadowBodies, ['payload'])
  // Shadow down: answers unchanged, failures counted, one warning.
  for (let n = 0; n < 3; n++) assert.equal((await http(`${proxy.url}/down/b`)).body.toString(), 'real answer')
  await until(() => downMirror.stats.failed === 3, 'three failed copies')
  assert.equal(logs.filter((l) => l.includes("mirror to 'down' failed")).length, 1)
  // Shadow stuck: a large chunked upload still completes upstream and the client gets its answer.
  // (8 MiB: more than the kernel's socket buffers can hold for the paused shadow.)
  const upload = Array.from({ length: 512 }, () => Buffer.alloc(16 * 1024, 0x61))
  const res = await chunkedRequest(`${proxy.url}/stuck/c`, upload)
  assert.deepEqual([res.status, res.body.toString()], [200, 'real answer'])
  assert.ok(realSeen.includes(`POST /stuck/c ${512 * 16 * 1024}`), realSeen.join('\n'))
  assert.equal(stuckMirror.stats.dropped, 1)
  // …and a GET while the stuck shadow holds its earlier copy.
  assert.equal((await http(`${proxy.url}/stuck/d`)).body.toString(), 'real answer')
})

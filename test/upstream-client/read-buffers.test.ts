/**
 * Upstream read buffers (runtime/upstream-client/read-buffers.ts): body buffers are reused once
 * their holder lets go of its chunks, and never while a chunk may still be read — a holder that
 * keeps its chunks (and says so, or has no chunkHolder at all) finds every byte intact after
 * many more reads on other connections; a small read is copied for such a holder.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo, type Socket } from 'node:net'
import { UpstreamPool } from '../../runtime/upstream-client/pool.js'
import { BODY_READ_SIZE, COPY_BELOW, readBufferStats, type ChunkHolder } from '../../runtime/upstream-client/read-buffers.js'
import type { UpstreamHandler } from '../../runtime/upstream-client/types.js'
import { startProxy } from '../helpers/servers.js'
import { quiescent } from './helpers.js'

const T = { timeout: 30_000 }
const MiB = 1024 * 1024

/**
 * An origin serving `bodies` by path: Content-Length, or chunked in 100-byte writes a turn apart
 * (`?trickle`); with `wrote`, in counted 64 KiB writes; `closed` hears of each connection's close.
 */
async function origin(t: TestContext, bodies: Map<string, Buffer>, wrote?: (path: string, bytes: number) => void, closed?: () => void): Promise<string> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x')
    const body = bodies.get(url.pathname)!
    if (wrote !== undefined) {
      // In 64 KiB writes, counted as they are taken (to see where the proxy stops reading).
      res.setHeader('content-length', body.length)
      let at = 0
      const pump = (): void => {
        while (at < body.length) {
          const block = body.subarray(at, (at += 64 * 1024))
          wrote(url.pathname, block.length)
          if (!res.write(block)) return void res.once('drain', pump)
        }
        res.end()
      }
      return pump()
    }
    if (!url.searchParams.has('trickle')) return void res.end(body)
    let at = 0
    const next = (): void => {
      if (at >= body.length) return void res.end()
      res.write(body.subarray(at, (at += 100)), () => setImmediate(next))
    }
    next()
  })
  if (closed !== undefined) server.on('connection', (socket) => socket.on('close', closed))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Keeps the chunks it gets as they are (no copy); `releases`: whether it has a chunkHolder, which answers from `released`. */
class Keeper implements UpstreamHandler {
  readonly chunks: Buffer[] = []
  released = false
  readonly chunkHolder: ChunkHolder | undefined
  readonly done: Promise<void>
  #resolve!: () => void
  #reject!: (err: Error) => void

  constructor(releases: boolean) {
    this.chunkHolder = releases ? { chunkState: () => (this.released ? 'released' : 'held') } : undefined
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  onConnect(): void {}
  onHeaders(): boolean {
    return true
  }
  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk)
    return true
  }
  onComplete(): void {
    this.#resolve()
  }
  onError(err: Error): void {
    this.#reject(err)
  }
}

/** Hashes what it gets and lets go of each chunk at once (as the forwarder does once a write is out). */
class Hasher implements UpstreamHandler {
  readonly hash = createHash('sha256')
  reads = 0
  readonly done: Promise<string>
  #resolve!: (digest: string) => void
  #reject!: (err: Error) => void

  constructor() {
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  readonly chunkHolder: ChunkHolder = { chunkState: () => 'released' }
  onConnect(): void {}
  onHeaders(): boolean {
    return true
  }
  onData(chunk: Buffer): boolean {
    this.reads++
    this.hash.update(chunk)
    return true
  }
  onComplete(): void {
    this.#resolve(this.hash.digest('hex'))
  }
  onError(err: Error): void {
    this.#reject(err)
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function get(pool: UpstreamPool, path: string, handler: UpstreamHandler): void {
  pool.dispatch({ method: 'GET', path, headers: [], body: null }, handler)
}

for (const releases of [true, false]) {
  test(`chunks kept by a holder ${releases ? 'that has not released them' : 'without chunkHolder'} stay intact while other downloads reuse buffers`, T, async (t) => {
    const bodies = new Map([['/kept', randomBytes(MiB + 12_345)], ['/other', randomBytes(2 * MiB + 777)]])
    const pool = new UpstreamPool(await origin(t, bodies), { connections: 4 })
    t.after(() => pool.close())
    const keeper = new Keeper(releases)
    get(pool, '/kept', keeper)
    await keeper.done
    // 8 × 2 MiB on other connections of the pool, 4 at a time: ~260 body reads.
    const before = readBufferStats().allocated
    let reads = 0
    for (let round = 0; round < 2; round++) {
      const hashers = Array.from({ length: 4 }, () => new Hasher())
      for (const h of hashers) get(pool, '/other', h)
      for (const h of hashers) assert.equal(await h.done, sha256(bodies.get('/other')!))
      reads += hashers.reduce((n, h) => n + h.reads, 0)
    }
    assert.ok(readBufferStats().allocated - before <= 16, `${readBufferStats().allocated - before} body buffers allocated for ${reads} reads`)
    assert.equal(sha256(Buffer.concat(keeper.chunks)), sha256(bodies.get('/kept')!), 'a kept chunk was overwritten')
    keeper.released = true
  })
}

test('a small read is copied for a holder that may keep it, not lent with its 64 KiB buffer', T, async (t) => {
  const bodies = new Map([['/t', randomBytes(50_000)]])
  const pool = new UpstreamPool(await origin(t, bodies))
  t.after(() => pool.close())
  const keeper = new Keeper(false)
  get(pool, '/t?trickle', keeper)
  await keeper.done
  assert.equal(sha256(Buffer.concat(keeper.chunks)), sha256(bodies.get('/t')!))
  assert.ok(keeper.chunks.length > 10, `${keeper.chunks.length} chunks`)
  for (const chunk of keeper.chunks) {
    if (chunk.length < COPY_BELOW) assert.ok(chunk.buffer.byteLength < BODY_READ_SIZE, `a ${chunk.length}-byte chunk keeps a ${chunk.buffer.byteLength}-byte buffer`)
  }
})

test('a body read into the shared head buffer reaches a keeping holder as a copy', T, async (t) => {
  // Small responses are read whole into the buffer every connection shares: a kept chunk must
  // survive the next responses on any connection.
  const bodies = new Map(Array.from({ length: 20 }, (_, i) => [`/s${i}`, randomBytes(200 + i * 300)] as const))
  const pool = new UpstreamPool(await origin(t, bodies), { connections: 3 })
  t.after(() => pool.close())
  const keepers = [...bodies.keys()].map((path) => {
    const keeper = new Keeper(false)
    get(pool, path, keeper)
    return [path, keeper] as const
  })
  for (const [, keeper] of keepers) await keeper.done
  for (const [path, keeper] of keepers) assert.equal(sha256(Buffer.concat(keeper.chunks)), sha256(bodies.get(path)!), path)
})

/** Reads a whole response from a raw socket; resolves with its body (after the head). */
function download(port: number, path: string, paused = false, method = 'GET'): { socket: Socket; head: Promise<string>; body: Promise<Buffer> } {
  const socket = connect(port, '127.0.0.1')
  if (paused) socket.pause()
  socket.write(`${method} ${path} HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
  const chunks: Buffer[] = []
  const all = new Promise<Buffer>((resolve, reject) => {
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => resolve(Buffer.concat(chunks)))
    socket.on('error', reject)
  })
  return {
    socket,
    head: all.then((b) => b.subarray(0, b.indexOf('\r\n\r\n')).toString('latin1')),
    body: all.then((b) => b.subarray(b.indexOf('\r\n\r\n') + 4)),
  }
}

for (const fastFront of [true, false]) {
  test(`through the proxy (fastFront: ${fastFront}): a client that stops reading keeps its response's buffers while other downloads reuse them`, T, async (t) => {
    // The stalled client's response waits in the proxy's socket writes, as views of read
    // buffers: they must not go back to the free list until those writes are out.
    const bodies = new Map([['/stalled', randomBytes(24 * MiB)], ['/other', randomBytes(2 * MiB + 3)], ['/cached', randomBytes(MiB + 5)]])
    let stalledSent = 0
    const url = await origin(t, bodies, (path, n) => {
      if (path === '/stalled') stalledSent += n
    })
    const proxy = await startProxy({
      server: { fastFront },
      upstreams: { b: { servers: [url] } },
      routes: [{ match: { path: '/cached' }, to: 'b', cache: { ttl: '1m', maxObjectSize: '4mb' } }, { to: 'b' }],
    })
    t.after(() => proxy.close())
    const cached = download(proxy.port, '/cached')
    assert.equal(sha256(await cached.body), sha256(bodies.get('/cached')!))
    const stalled = download(proxy.port, '/stalled', true)
    await quiescent(() => stalledSent)
    for (let round = 0; round < 3; round++) {
      const others = Array.from({ length: 4 }, () => download(proxy.port, '/other'))
      for (const o of others) assert.equal(sha256(await o.body), sha256(bodies.get('/other')!))
    }
    const hit = download(proxy.port, '/cached')
    const hitBody = await hit.body
    assert.match(await hit.head, /cache-status: switchyard; hit/i)
    assert.equal(sha256(hitBody), sha256(bodies.get('/cached')!), 'the cached copy was overwritten')
    stalled.socket.resume()
    assert.equal(sha256(await stalled.body), sha256(bodies.get('/stalled')!), 'the stalled response was overwritten')
  })
}

test('buffers lent to clients that went away with writes pending are forgotten, not waited for', T, async (t) => {
  const bodies = new Map([['/big', randomBytes(16 * MiB)], ['/other', randomBytes(MiB)]])
  let sent = 0
  let closedUpstreams = 0
  let onClosed = (): void => {}
  const url = await origin(t, bodies, (_path, n) => (sent += n), () => {
    closedUpstreams++
    onClosed()
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [url] } }, routes: [{ to: 'b' }] })
  t.after(() => proxy.close())
  const clients = Array.from({ length: 6 }, () => download(proxy.port, '/big', true))
  for (const c of clients) c.body.catch(() => {})
  await quiescent(() => sent)
  // They go away with the proxy's writes to them pending (views of lent buffers): the proxy
  // aborts their upstream exchanges, which closes those connections.
  const upstreamsClosed = new Promise<void>((resolve) => {
    onClosed = () => closedUpstreams >= clients.length && resolve()
  })
  for (const c of clients) c.socket.resetAndDestroy()
  await upstreamsClosed
  const other = download(proxy.port, '/other')
  assert.equal(sha256(await other.body), sha256(bodies.get('/other')!))
  await new Promise((resolve) => setImmediate(resolve))
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(readBufferStats().lent, 0, 'buffers still waited for')
})

test('a response the cache passes through (a POST on a cached route) reuses buffers too, and a stalled one keeps its own', T, async (t) => {
  const bodies = new Map([['/stalled', randomBytes(24 * MiB)], ['/other', randomBytes(2 * MiB + 3)]])
  let stalledSent = 0
  const url = await origin(t, bodies, (path, n) => {
    if (path === '/stalled') stalledSent += n
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [url] } }, routes: [{ to: 'b', cache: { ttl: '1m' } }] })
  t.after(() => proxy.close())
  const stalled = download(proxy.port, '/stalled', true, 'POST')
  await quiescent(() => stalledSent)
  const warm = download(proxy.port, '/other', false, 'POST')
  assert.match(await warm.head, /cache-status: switchyard; fwd=method/i)
  assert.equal(sha256(await warm.body), sha256(bodies.get('/other')!))
  const before = readBufferStats().allocated
  // One at a time: how many buffers concurrent downloads hold at once depends on how fast this
  // process's own client reads them (under load: 39 once), not on whether they are reused.
  for (let n = 0; n < 8; n++) {
    const other = download(proxy.port, '/other', false, 'POST')
    assert.equal(sha256(await other.body), sha256(bodies.get('/other')!))
  }
  assert.ok(readBufferStats().allocated - before <= 16, `${readBufferStats().allocated - before} body buffers allocated for 16 MiB passed through`)
  stalled.socket.resume()
  assert.equal(sha256(await stalled.body), sha256(bodies.get('/stalled')!), 'the stalled response was overwritten')
})

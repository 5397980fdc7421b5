/**
 * Request and response bodies: streamed uploads (Content-Length or chunked), an early answer
 * during an upload, and backpressure both ways — through the pool, and through the proxy with a
 * client that does not read.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { UpstreamPool } from '../../runtime/upstream-client/pool.js'
import { startProxy } from '../helpers/servers.js'
import { send, failure, quiescent, Collector, rawServer } from './helpers.js'

const T = { timeout: 20_000 }
const MiB = 1024 * 1024
/** Larger than every kernel buffer a loopback transfer can fill (socket buffers autotune to a few MiB). */
const BIG = 64 * MiB

async function server(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const s = createServer(handler)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    s.closeAllConnections()
    s.close(() => r())
  }))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

/** Echoes method, framing and body length. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  let size = 0
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => {
    size += c.length
    if (size < 1000) chunks.push(c)
  })
  req.on('end', () => res.end(JSON.stringify({
    method: req.method, length: req.headers['content-length'] ?? null, te: req.headers['transfer-encoding'] ?? null,
    size, body: size < 1000 ? Buffer.concat(chunks).toString() : '',
  })))
}

/** A server that does not read request bodies until `resumeReading()`, then answers with the body's length. */
async function stalledReader(t: TestContext): Promise<{ url: string; resumeReading: () => void }> {
  let upstreamReq: IncomingMessage | undefined
  const url = await server(t, (req, res) => {
    upstreamReq = req
    req.pause()
    let size = 0
    req.on('data', (c: Buffer) => (size += c.length))
    req.on('end', () => res.end(String(size)))
  })
  return { url, resumeReading: () => upstreamReq!.resume() }
}

/** A Readable producing `total` bytes on demand (counts what it produced). */
function source(total: number, chunk = 64 * 1024) {
  const block = Buffer.alloc(chunk, 'u')
  let produced = 0
  const stream = new Readable({
    read() {
      if (produced >= total) return void this.push(null)
      const n = Math.min(chunk, total - produced)
      produced += n
      this.push(n === chunk ? block : block.subarray(0, n))
    },
  })
  return { stream, produced: () => produced }
}

test('uploads: a Buffer with Content-Length; a stream with its declared Content-Length or chunked', T, async (t) => {
  const pool = new UpstreamPool(await server(t, echo))
  t.after(() => pool.destroy())
  const json = async (p: Promise<{ body: Buffer }>) => JSON.parse((await p).body.toString()) as Record<string, unknown>
  assert.deepEqual(await json(send(pool, { method: 'POST', body: Buffer.from('buffered') })),
    { method: 'POST', length: '8', te: null, size: 8, body: 'buffered' })
  assert.deepEqual(await json(send(pool, { method: 'PUT', headers: ['content-length', '6'], body: Readable.from([Buffer.from('str'), Buffer.from(''), Buffer.from('eam')]) })),
    { method: 'PUT', length: '6', te: null, size: 6, body: 'stream' })
  assert.deepEqual(await json(send(pool, { method: 'POST', body: Readable.from([Buffer.from('chun'), Buffer.from(''), Buffer.from('ked')]) })),
    { method: 'POST', length: null, te: 'chunked', size: 7, body: 'chunked' })
  const big = source(10 * MiB)
  assert.deepEqual(await json(send(pool, { method: 'POST', body: big.stream })), { method: 'POST', length: null, te: 'chunked', size: 10 * MiB, body: '' })
  // A stream that does not match its Content-Length never reaches the upstream as a complete request.
  for (const [declared, parts] of [['3', ['toolong']], ['9', ['short']]] as const) {
    const err = await failure(send(pool, { method: 'PUT', headers: ['content-length', declared], body: Readable.from(parts.map((p) => Buffer.from(p))) }))
    assert.equal(err.code, 'SWITCHYARD_REQUEST_BODY')
    assert.match(err.message, /Content-Length/)
  }
  // A stream that fails: the request fails with its error.
  const failing = new Readable({ read() { this.destroy(new Error('disk on fire')) } })
  const err = await failure(send(pool, { method: 'POST', body: failing }))
  assert.equal(err.code, 'SWITCHYARD_REQUEST_BODY')
  assert.match(err.message, /disk on fire/)
})

test('an upstream answering before the upload ends: the answer is delivered, sending stops, the connection is not reused', T, async (t) => {
  const server = await rawServer((h) => {
    if (h.line.startsWith('POST')) h.socket.write('HTTP/1.1 413 Content Too Large\r\ncontent-length: 8\r\n\r\ntoo big!') // without reading the body
    else h.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
  })
  t.after(() => server.close())
  const pool = new UpstreamPool(server.url)
  t.after(() => pool.destroy())
  const upload = source(BIG)
  const res = await send(pool, { method: 'POST', body: upload.stream })
  assert.equal(res.status, 413)
  assert.equal(res.body.toString(), 'too big!')
  assert.ok(upload.produced() < BIG, 'sending stopped')
  assert.ok(upload.stream.destroyed, 'a stream that is not the client\'s own request is destroyed')
  assert.equal((await send(pool)).status, 200)
  assert.equal(server.connections, 2)
})

test('download backpressure: a handler that returns false stops reading; the upstream\'s writes block; resume() reads on', T, async (t) => {
  let sent = 0
  let blocked = false
  const url = await server(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(BIG) })
    const block = Buffer.alloc(64 * 1024, 'd')
    const pump = () => {
      while (sent < BIG) {
        sent += block.length
        if (!res.write(block)) {
          blocked = true
          return void res.once('drain', () => {
            blocked = false
            pump()
          })
        }
      }
      res.end()
    }
    pump()
  })
  const pool = new UpstreamPool(url)
  t.after(() => pool.destroy())
  const c = new Collector(true) // pauses after every chunk and waits for resume()
  const result = send(pool, {}, c)
  const stalledAt = await quiescent(() => sent)
  assert.ok(blocked && stalledAt < BIG, `the upstream blocked at ${stalledAt} of ${BIG} bytes`)
  assert.equal(c.chunks.length, 1, 'nothing more was delivered while paused')
  let delivered = c.chunks[0]!.length
  c.chunks.length = 0
  c.onData = (chunk) => {
    delivered += chunk.length
    return true
  }
  c.resume!()
  await result
  assert.equal(delivered, BIG)
})

test('upload backpressure: an upstream that does not read pauses the source; reading on completes it', T, async (t) => {
  const { url, resumeReading } = await stalledReader(t)
  const pool = new UpstreamPool(url)
  t.after(() => pool.destroy())
  const upload = source(BIG)
  const result = send(pool, { method: 'POST', body: upload.stream })
  const stalledAt = await quiescent(upload.produced)
  assert.ok(stalledAt < BIG, `the source was paused at ${stalledAt} of ${BIG} bytes`)
  resumeReading()
  assert.equal((await result).body.toString(), String(BIG))
})

test('through the proxy: a client that does not read a 64 MiB response makes the upstream block, not the proxy buffer it', T, async (t) => {
  let sent = 0
  const url = await server(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(BIG) })
    const block = Buffer.alloc(64 * 1024, 'p')
    const pump = () => {
      while (sent < BIG) {
        sent += block.length
        if (!res.write(block)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  })
  const proxy = await startProxy({ upstreams: { b: { servers: [url] } }, routes: [{ to: 'b' }] })
  t.after(() => proxy.close())
  const client = connect(proxy.port, '127.0.0.1')
  client.pause() // reads nothing
  client.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n')
  const stalledAt = await quiescent(() => sent)
  assert.ok(stalledAt < BIG, `the upstream blocked at ${stalledAt} of ${BIG} bytes`)
  let received = 0
  const done = new Promise<void>((resolve) => client.on('data', (c: Buffer) => {
    received += c.length
    if (received >= BIG) resolve()
  }))
  client.resume()
  await done
  client.destroy()
})

test('through the proxy: an upstream that does not read makes the client\'s upload stop, not the proxy buffer it', T, async (t) => {
  const { url, resumeReading } = await stalledReader(t)
  const proxy = await startProxy({ upstreams: { b: { servers: [url] } }, routes: [{ to: 'b' }] })
  t.after(() => proxy.close())
  const upload = source(BIG)
  const response = new Promise<string>((resolve, reject) => {
    const req = httpRequest(`${proxy.url}/up`, { method: 'POST', agent: false }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    upload.stream.pipe(req)
  })
  const stalledAt = await quiescent(upload.produced)
  assert.ok(stalledAt < BIG, `the client's upload stopped at ${stalledAt} of ${BIG} bytes`)
  resumeReading()
  assert.equal(await response, String(BIG))
})

test('headersTimeout during an upload: an upstream that stops reading the body times out', T, async (t) => {
  // (One that reads slowly but steadily is not timed out while libuv sees its writes progress:
  // Connection#writeProgressed. On loopback the kernel's buffers are megabytes, so progress and
  // 'drain' come together and that difference cannot be shown here.)
  const stalled = await stalledReader(t)
  const pool = new UpstreamPool(stalled.url, { headersTimeout: 300 })
  t.after(() => pool.destroy())
  const upload = source(BIG)
  assert.equal((await failure(send(pool, { method: 'POST', body: upload.stream }))).code, 'SWITCHYARD_HEADERS_TIMEOUT')
  assert.ok(upload.produced() < BIG)
})

// Cache layer throughput: wrk against the origin directly, a route without cache, a cache hit
// and a cache miss (origin answers no-store, so every request goes through the layer upstream).
//   node --import tsx bench/cache.ts [--duration 5] [--connections 32]
// The origin runs in a worker thread, the proxy in this thread, wrk in its own process. The
// numbers are for comparing rows with each other on one machine, not absolute.
import { spawn, spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { Runtime } from '../runtime/runtime.js'
import { resolveConfig } from '../src/config/resolve-config.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const duration = arg('duration', 5)
const connections = arg('connections', 32)

if (spawnSync('wrk', ['-v']).error) {
  console.error('wrk is not installed (apt-get install -y wrk)')
  process.exit(1)
}

const origin = new Worker(
  `const http = require('node:http')
   const { parentPort } = require('node:worker_threads')
   const body = Buffer.alloc(1024, 'x')
   const server = http.createServer((req, res) => {
     const store = req.url.startsWith('/miss') ? 'no-store' : 'public, max-age=3600'
     res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'cache-control': store })
     res.end(body)
   })
   server.keepAliveTimeout = 60000
   server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))`,
  { eval: true },
)
const originPort = await new Promise<number>((resolve) => origin.once('message', resolve))
const originUrl = `http://127.0.0.1:${originPort}`

const runtime = new Runtime()
await runtime.load(resolveConfig({
  listen: { host: '127.0.0.1', port: 0 },
  log: { access: false },
  upstreams: { o: { servers: [originUrl], keepAlive: { connections: 64 } } },
  routes: [
    { match: { path: '/plain/*' }, to: 'o' },
    { match: { path: ['/hit/*', '/miss/*'] }, to: 'o', cache: true },
  ],
}, 'start'))
const proxy = `http://127.0.0.1:${runtime.addresses()[0]!.port}`

async function wrk(url: string): Promise<{ rps: number; p50: string; p99: string; errors: number }> {
  // Asynchronous: the proxy runs on this thread's event loop.
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  await new Promise((resolve) => child.on('close', resolve))
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN)
  const p50 = /^\s*50%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const p99 = /^\s*99%\s+(\S+)/m.exec(out)?.[1] ?? '?'
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(out)?.[1] ?? 0)
  return { rps, p50, p99, errors }
}

await fetch(`${proxy}/hit/warm`).then((r) => r.arrayBuffer())
const rows: Array<[string, string]> = [
  ['origin direct', `${originUrl}/plain/x`],
  ['proxy, route without cache', `${proxy}/plain/x`],
  ['proxy, cache hit (memory)', `${proxy}/hit/warm`],
  ['proxy, cache miss (no-store origin)', `${proxy}/miss/x`],
]
console.log(`wrk -t1 -c${connections} -d${duration}s, 1 KiB body, ${new Date().toISOString()}`)
console.log(`${'scenario'.padEnd(38)} ${'req/s'.padStart(9)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} errors`)
for (const [name, url] of rows) {
  await new Promise((r) => setTimeout(r, 200)) // let sockets settle between runs (not a test)
  const r = await wrk(url)
  console.log(`${name.padEnd(38)} ${r.rps.toFixed(0).padStart(9)} ${r.p50.padStart(9)} ${r.p99.padStart(9)} ${r.errors}`)
}

// Memory per stored object: 10,000 distinct small (1 KiB) responses through the proxy.
// Heap figures need --expose-gc to be meaningful (run: node --expose-gc --import tsx bench/cache.ts).
const gc = (globalThis as { gc?: () => void }).gc
const heap = () => {
  gc?.()
  gc?.()
  return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
}
const before = heap()
const { Pool } = await import('undici')
const pool = new Pool(proxy, { connections: 32 })
let next = 0
await Promise.all(Array.from({ length: 32 }, async () => {
  while (next < 10_000) {
    const i = next++
    const res = await pool.request({ path: `/hit/object-${i}`, method: 'GET' })
    await res.body.arrayBuffer()
  }
}))
await pool.close()
const perObject = (heap() - before) / 10_000
console.log(`memory per stored 1 KiB object (10,000 objects, heap + buffers${gc ? '' : ', without --expose-gc: rough'}): ${(perObject / 1024).toFixed(2)} KiB (${(perObject - 1024).toFixed(0)} B over the body)`)
await runtime.close(100)
await origin.terminate()

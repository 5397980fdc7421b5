// Cache layer throughput: wrk against the origin directly, a route without cache, a cache hit,
// a cache hit on a route with an onResponse hook, and a cache miss (origin answers no-store, so
// every request goes through the layer upstream).
//   node --expose-gc --import tsx bench/cache.ts [--rounds 3] [--duration 5] [--connections 32]
// The origin runs in a child process, the proxy in this process, wrk in its own process. Rounds
// are interleaved (A B C D E, A B C D E, …); the table shows medians. CPU µs/req is the serving
// process's own user+sys time divided by the requests wrk completed: the proxy's (this process)
// for proxied rows, the origin's for "origin direct". It is the least noise-sensitive column on
// a shared machine; req/s depends on what else runs.
import { spawn, spawnSync } from 'node:child_process'
import { Runtime } from '../runtime/runtime.js'
import { resolveConfig } from '../src/config/resolve-config.js'
import { parseWrk } from './lib/wrk.js'
import { cpuMicros as treeCpuMicros } from './lib/proc-stats.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const rounds = arg('rounds', 3)
const duration = arg('duration', 5)
const connections = arg('connections', 32)

if (spawnSync('wrk', ['-v']).error) {
  console.error('wrk is not installed (apt-get install -y wrk)')
  process.exit(1)
}

const origin = spawn(process.execPath, ['-e', `
  const http = require('node:http')
  const body = Buffer.alloc(1024, 'x')
  const server = http.createServer((req, res) => {
    const store = req.url.startsWith('/miss') ? 'no-store' : 'public, max-age=3600'
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'cache-control': store })
    res.end(body)
  })
  server.keepAliveTimeout = 60000
  server.listen(0, '127.0.0.1', () => console.log(server.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] })
const originPort = await new Promise<number>((resolve) => origin.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))))
const originUrl = `http://127.0.0.1:${originPort}`

const runtime = new Runtime()
await runtime.load(resolveConfig({
  listen: { host: '127.0.0.1', port: 0 },
  log: { access: false },
  upstreams: { o: { servers: [originUrl], keepAlive: { connections: 64 } } },
  routes: [
    { match: { path: '/plain/*' }, to: 'o' },
    { match: { path: '/hooked/*' }, to: 'o', cache: true, hooks: { onResponse: () => {} } },
    { match: { path: ['/hit/*', '/miss/*'] }, to: 'o', cache: true },
  ],
}, 'start'))
const proxy = `http://127.0.0.1:${runtime.addresses()[0]!.port}`

/** CPU µs (user+sys) used so far by the origin process (Linux /proc), or by this process. */
function cpuMicros(who: 'proxy' | 'origin'): number {
  if (who === 'proxy') {
    const u = process.cpuUsage()
    return u.user + u.system
  }
  return treeCpuMicros(origin.pid!)
}

interface Run { rps: number; cpu: number; p50Ms: number; p99Ms: number; errors: number }

async function wrk(url: string, who: 'proxy' | 'origin'): Promise<Run> {
  // Asynchronous: the proxy runs on this thread's event loop.
  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', url], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const cpuBefore = cpuMicros(who)
  await new Promise((resolve) => child.on('close', resolve))
  const cpu = cpuMicros(who) - cpuBefore
  const { requests, rps, p50Ms, p99Ms, errors } = parseWrk(out)
  return { rps, cpu: cpu / requests, p50Ms, p99Ms, errors }
}

await fetch(`${proxy}/hit/warm`).then((r) => r.arrayBuffer())
await fetch(`${proxy}/hooked/warm`).then((r) => r.arrayBuffer())
const rows: Array<[name: string, url: string, who: 'proxy' | 'origin']> = [
  ['origin direct', `${originUrl}/plain/x`, 'origin'],
  ['proxy, route without cache', `${proxy}/plain/x`, 'proxy'],
  ['proxy, cache hit (memory)', `${proxy}/hit/warm`, 'proxy'],
  ['proxy, cache hit, onResponse hook', `${proxy}/hooked/warm`, 'proxy'],
  ['proxy, cache miss (no-store origin)', `${proxy}/miss/x`, 'proxy'],
]
const runs = new Map<string, Run[]>(rows.map(([name]) => [name, []]))
for (let r = 0; r < rounds; r++) {
  for (const [name, url, who] of rows) {
    await new Promise((resolve) => setTimeout(resolve, 200)) // let sockets settle between runs (not a test)
    runs.get(name)!.push(await wrk(url, who))
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`wrk -t1 -c${connections} -d${duration}s, 1 KiB body, ${rounds} interleaved rounds (medians), ${new Date().toISOString()}`)
console.log(`${'scenario'.padEnd(38)} ${'req/s'.padStart(9)} ${'CPU µs/req'.padStart(11)} ${'p50'.padStart(9)} ${'p99'.padStart(9)} errors`)
for (const [name] of rows) {
  const rs = runs.get(name)!
  const last = rs[rs.length - 1]!
  const errors = rs.reduce((n, r) => n + r.errors, 0)
  console.log(`${name.padEnd(38)} ${median(rs.map((r) => r.rps)).toFixed(0).padStart(9)} ${median(rs.map((r) => r.cpu)).toFixed(1).padStart(11)} ${`${last.p50Ms.toFixed(2)}ms`.padStart(9)} ${`${last.p99Ms.toFixed(2)}ms`.padStart(9)} ${errors}`)
}
const ratio = (a: string, b: string): string => median(runs.get(a)!.map((r, i) => r.rps / runs.get(b)![i]!.rps)).toFixed(2)
console.log(`cache hit ÷ route without cache (req/s, median of per-round ratios): ${ratio('proxy, cache hit (memory)', 'proxy, route without cache')}×; hooked hit ÷ plain hit: ${ratio('proxy, cache hit, onResponse hook', 'proxy, cache hit (memory)')}×`)

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
origin.kill()

// Cost of the programmable pipeline on the hot path: the same small-body forward route plain,
// with one no-op onRequest hook, with onRequest + onResponse, and as a cache hit.
// Interleaved rounds (A B C D, A B C D, …), medians; wrk in its own process, the origin in a
// worker thread, the proxy in this thread.   node --import tsx bench/hooks.ts [--rounds 3] [--duration 3]
import { spawn, spawnSync } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { Runtime } from '../runtime/runtime.js'
import { resolveConfig } from '../src/config/resolve-config.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const rounds = arg('rounds', 3)
const duration = arg('duration', 3)
if (spawnSync('wrk', ['-v']).error) {
  console.error('wrk is not installed (apt-get install -y wrk)')
  process.exit(1)
}

const origin = new Worker(`
  const http = require('node:http'); const { parentPort } = require('node:worker_threads')
  const body = Buffer.from('hello world\\n')
  http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'cache-control': 'public, max-age=3600' }); res.end(body) })
    .listen(0, '127.0.0.1', function () { parentPort.postMessage(this.address().port) })`, { eval: true })
const originPort = await new Promise<number>((r) => origin.once('message', r))

const runtime = new Runtime()
await runtime.load(resolveConfig({
  listen: { host: '127.0.0.1', port: 0 },
  log: { access: false },
  upstreams: { o: { servers: [`http://127.0.0.1:${originPort}`], keepAlive: { connections: 256 } } },
  routes: [
    { match: { path: '/plain/*' }, to: 'o' },
    { match: { path: '/hook/*' }, to: 'o', hooks: { onRequest: () => {} } },
    { match: { path: '/hooks2/*' }, to: 'o', hooks: { onRequest: () => {}, onResponse: () => {} } },
    { match: { path: '/cached/*' }, to: 'o', cache: true },
  ],
}, 'start'))
const port = runtime.addresses()[0]!.port

function wrk(path: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t1', '-c64', `-d${duration}s`, `http://127.0.0.1:${port}${path}`])
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('close', () => resolve(Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)))
  })
}

const cases: Array<[string, string]> = [
  ['plain forward', '/plain/x'],
  ['one onRequest hook', '/hook/x'],
  ['onRequest + onResponse', '/hooks2/x'],
  ['cache hit', '/cached/x'],
]
const results = new Map<string, number[]>(cases.map(([n]) => [n, []]))
for (const [, path] of cases) await wrk(path) // warm-up (and fills the cache)
for (let r = 0; r < rounds; r++) for (const [name, path] of cases) results.get(name)!.push(await wrk(path))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const base = median(results.get('plain forward')!)
console.log(`wrk -t1 -c64 -d${duration}s × ${rounds} interleaved rounds, 12-byte body, ${new Date().toISOString()}`)
for (const [name] of cases) {
  const m = median(results.get(name)!)
  console.log(`${name.padEnd(24)} ${m.toFixed(0).padStart(7)} req/s  ${(m / base).toFixed(2)}× plain   rounds: ${results.get(name)!.map((x) => x.toFixed(0)).join(', ')}`)
}
await runtime.close(100)
await origin.terminate()

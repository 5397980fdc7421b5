// Cost of the programmable pipeline on the hot path: the same small-body forward route plain,
// with one no-op onRequest hook, with onRequest + onResponse (a no-op one, and one that sets a
// header the way most onResponse hooks do), as a cache hit, as a cache hit through an
// onResponse hook, and with the built-in headers() and requestId() middleware.
// Interleaved rounds (A B C …, A B C …, …), medians; wrk and the origin in processes of their
// own, the proxy in this one. CPU µs/req is this process's user+sys time divided by the requests
// wrk completed — the least noise-sensitive column on a shared machine.
//   node --import tsx bench/hooks.ts [--rounds 3] [--duration 3] [--only name,name]
import { spawn, spawnSync } from 'node:child_process'
import { Runtime } from '../runtime/runtime.js'
import { resolveConfig } from '../src/config/resolve-config.js'
import { headers, requestId } from '../src/middleware/index.js'
import { parseWrk } from './lib/wrk.js'

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const rounds = arg('rounds', 3)
const duration = arg('duration', 3)
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt > 0 ? process.argv[onlyAt + 1]!.split(',') : undefined
if (spawnSync('wrk', ['-v']).error) {
  console.error('wrk is not installed (apt-get install -y wrk)')
  process.exit(1)
}

const origin = spawn(process.execPath, ['-e', `
  const http = require('node:http')
  const body = Buffer.from('hello world\\n')
  const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'cache-control': 'public, max-age=3600' }); res.end(body) })
  server.keepAliveTimeout = 60000
  server.listen(0, '127.0.0.1', () => console.log(server.address().port))`], { stdio: ['ignore', 'pipe', 'inherit'] })
const originPort = await new Promise<number>((resolve) => origin.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))))

const setHeader = (_ctx: unknown, res: Response): void => void res.headers.set('x-served-by', 'switchyard')
const runtime = new Runtime()
await runtime.load(resolveConfig({
  listen: { host: '127.0.0.1', port: 0 },
  log: { access: false },
  upstreams: { o: { servers: [`http://127.0.0.1:${originPort}`], keepAlive: { connections: 256 } } },
  routes: [
    { match: { path: '/plain/*' }, to: 'o' },
    { match: { path: '/hook/*' }, to: 'o', hooks: { onRequest: () => {} } },
    { match: { path: '/hooks2/*' }, to: 'o', hooks: { onRequest: () => {}, onResponse: () => {} } },
    { match: { path: '/header/*' }, to: 'o', hooks: { onRequest: () => {}, onResponse: setHeader } },
    { match: { path: '/cached/*' }, to: 'o', cache: true },
    { match: { path: '/cached-hooked/*' }, to: 'o', cache: true, hooks: { onResponse: setHeader } },
    { match: { path: '/mw-headers/*' }, to: 'o', use: [headers({ response: { set: { 'x-served-by': 'switchyard' } } })] },
    { match: { path: '/mw-request-id/*' }, to: 'o', use: [requestId()] },
  ],
}, 'start'))
const port = runtime.addresses()[0]!.port

interface Run { rps: number; cpu: number }

function wrk(path: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t1', '-c64', `-d${duration}s`, `http://127.0.0.1:${port}${path}`])
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    const before = process.cpuUsage()
    child.on('close', () => {
      const used = process.cpuUsage(before)
      const { requests, rps } = parseWrk(out)
      resolve({ rps, cpu: (used.user + used.system) / requests })
    })
  })
}

const cases: Array<[string, string]> = ([
  ['plain forward', '/plain/x'],
  ['one onRequest hook', '/hook/x'],
  ['onRequest + onResponse', '/hooks2/x'],
  ['onResponse sets a header', '/header/x'],
  ['cache hit', '/cached/x'],
  ['cache hit + onResponse', '/cached-hooked/x'],
  ['headers() middleware', '/mw-headers/x'],
  ['requestId() middleware', '/mw-request-id/x'],
] as Array<[string, string]>).filter(([name, path]) => name === 'plain forward' || only === undefined || only.some((o) => path.includes(o)))
const results = new Map<string, Run[]>(cases.map(([n]) => [n, []]))
for (const [, path] of cases) await wrk(path) // warm-up (and fills the cache)
for (let r = 0; r < rounds; r++) for (const [name, path] of cases) results.get(name)!.push(await wrk(path))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const base = median(results.get('plain forward')!.map((r) => r.rps))
const baseCpu = median(results.get('plain forward')!.map((r) => r.cpu))
console.log(`wrk -t1 -c64 -d${duration}s × ${rounds} interleaved rounds (medians), 12-byte body, ${new Date().toISOString()}`)
console.log(`${'case'.padEnd(26)} ${'req/s'.padStart(7)}  ${'× plain'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  ${'× plain'.padStart(7)}   rounds (req/s)`)
for (const [name] of cases) {
  const runs = results.get(name)!
  const m = median(runs.map((r) => r.rps))
  const cpu = median(runs.map((r) => r.cpu))
  console.log(`${name.padEnd(26)} ${m.toFixed(0).padStart(7)}  ${(m / base).toFixed(2).padStart(6)}×  ${cpu.toFixed(1).padStart(10)}  ${(cpu / baseCpu).toFixed(2).padStart(6)}×   ${runs.map((x) => x.rps.toFixed(0)).join(', ')}`)
}
await runtime.close(100)
origin.kill()

// Proxied req/s per balancing policy against 3 local backends, measured with wrk, plus the
// share of requests each backend got. Also the hot-path before/after check: point `--root`
// at a copy of another tree (its src/ and runtime/) and the same cases run against it.
//
//   node --import tsx bench/policies.ts                      # every case, 3 s each, 64 connections
//   node --import tsx bench/policies.ts --only rr,p2c --duration 5 --rounds 3
//   node --import tsx bench/policies.ts --root /tmp/other-tree --only rr
//
// Processes: the proxy (a child running the tree's Runtime in-process, access log off), the
// three backends (one child, 12-byte answers) and wrk (-t1). On a machine with few CPUs they
// share them, so compare figures from the same run (rounds interleave the cases), not across
// machines. "proxy CPU µs/req" (the proxy process's user+system CPU over the run, divided by
// the requests served) moves less than req/s when other work competes for the CPUs.
// Needs `wrk` on PATH. The `rr+…` cases measure what each feature adds to round robin.
import { fork, spawnSync } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const SELF = fileURLToPath(import.meta.url)

interface Case {
  name: string
  /** Extra fields of `upstreams.b` (JSON; `balance: 'custom'` is mapped to a function in the proxy). */
  upstream: Record<string, unknown>
  weights?: [number, number, number]
}

const CASES: Case[] = [
  { name: 'rr', upstream: {} },
  { name: 'rr-weighted-5:1:1', upstream: {}, weights: [5, 1, 1] },
  { name: 'random', upstream: { balance: 'random' } },
  { name: 'least-conn', upstream: { balance: 'least-conn' } },
  { name: 'ip-hash', upstream: { balance: 'ip-hash' } },
  { name: 'hash-path', upstream: { balance: { policy: 'hash', key: 'path' } } },
  { name: 'p2c', upstream: { balance: 'p2c' } },
  { name: 'first', upstream: { balance: 'first' } },
  { name: 'custom', upstream: { balance: 'custom' } },
  { name: 'rr+health+passive', upstream: { health: { path: '/health', interval: '1s' }, passive: { maxFails: 3 } } },
  { name: 'rr+retry', upstream: { retry: { tries: 2 } } },
  { name: 'rr+sticky', upstream: { sticky: { cookie: 'sy' } } },
  { name: 'rr+maxConns', upstream: {}, weights: [1, 1, 1] },
]

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? undefined : process.argv[i + 1]
}

// ---------------------------------------------------------------- backends child
async function serveBackends(): Promise<void> {
  const counts = [0, 0, 0]
  const body = Buffer.from('hello world\n')
  const ports: number[] = []
  for (let i = 0; i < 3; i++) {
    const server = createServer((req, res) => {
      if (req.url !== '/health') counts[i]!++
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
      res.end(body)
    })
    server.keepAliveTimeout = 60_000
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    ports.push((server.address() as AddressInfo).port)
  }
  process.on('message', (m: { type: string }) => {
    if (m.type === 'counts') {
      process.send!({ type: 'counts', counts: [...counts] })
      counts.fill(0)
    }
  })
  process.send!({ type: 'ready', ports })
}

// ---------------------------------------------------------------- proxy child
async function serveProxy(root: string): Promise<void> {
  const { Runtime } = (await import(pathToFileURL(resolve(root, 'runtime/runtime.ts')).href)) as typeof import('../runtime/runtime.js')
  const { resolveConfig } = (await import(pathToFileURL(resolve(root, 'src/config/resolve-config.ts')).href)) as typeof import('../src/config/resolve-config.js')
  const runtime = new Runtime()
  let port = 0
  process.on('message', async (m: { type: string; config: Record<string, unknown> }) => {
    if (m.type === 'cpu') return void process.send!({ type: 'cpu', usage: process.cpuUsage() })
    if (m.type !== 'load') return
    try {
      const config = structuredClone(m.config) as { upstreams: { b: Record<string, unknown> } }
      if (config.upstreams.b.balance === 'custom') {
        config.upstreams.b.balance = (candidates: readonly unknown[]) => candidates[0]
      }
      await runtime.load(resolveConfig({ ...config, listen: { host: '127.0.0.1', port } }, 'start'))
      port = runtime.addresses()[0]!.port
      process.send!({ type: 'loaded', port })
    } catch (err) {
      process.send!({ type: 'loaded', error: (err as Error).message.split('\n').slice(0, 3).join(' ') })
    }
  })
  process.on('SIGINT', () => void runtime.close(100).then(() => process.exit(0)))
  process.send!({ type: 'ready' })
}

// ---------------------------------------------------------------- orchestrator
function ask<T>(child: import('node:child_process').ChildProcess, message: unknown, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type: string }) => {
      if (m.type !== type) return
      child.off('message', on)
      resolve(m as T)
    }
    child.on('message', on)
    if (message !== undefined) child.send(message as object)
  })
}

function wrk(url: string, connections: number, seconds: number): { rps: number; errors: number } {
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, url], { encoding: 'utf8' })
  if (r.error) throw r.error
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN)
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout)
  const errors = non2xx + (sock ? sock.slice(1).reduce((s, n) => s + Number(n), 0) : 0)
  return { rps, errors }
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve-backends')) return serveBackends()
  if (process.argv.includes('--serve-proxy')) return serveProxy(arg('root') ?? resolve(SELF, '../..'))
  if (spawnSync('wrk', ['-v']).error) {
    console.error('wrk not found: apt-get install -y wrk')
    process.exit(1)
  }
  const root = resolve(arg('root') ?? resolve(SELF, '../..'))
  const seconds = Number(arg('duration') ?? 3)
  const connections = Number(arg('connections') ?? 64)
  const rounds = Number(arg('rounds') ?? 1)
  const only = arg('only')?.split(',')
  const cases = only ? CASES.filter((c) => only.includes(c.name)) : CASES
  const execArgv = ['--import', 'tsx']
  const backends = fork(SELF, ['--serve-backends'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  // --cpu-prof DIR: the proxy writes a V8 CPU profile there when it exits.
  const profDir = arg('cpu-prof')
  const proxyArgv = profDir ? [...execArgv, '--cpu-prof', `--cpu-prof-dir=${profDir}`] : execArgv
  const proxy = fork(SELF, ['--serve-proxy', '--root', root], { execArgv: proxyArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ ports }] = await Promise.all([
    ask<{ ports: number[] }>(backends, undefined, 'ready'),
    ask(proxy, undefined, 'ready'),
  ])
  console.log(`proxied GET, 12-byte body, 3 backends, wrk -t1 -c${connections} -d${seconds}s, ${rounds} round(s), Node ${process.version}`)
  console.log(`tree: ${root}\n`)
  const results = new Map<string, number[]>()
  const shares = new Map<string, string>()
  /** Proxy CPU time (user + system) per proxied request, µs: less sensitive to other load on the machine than req/s. */
  const cpuPerRequest = new Map<string, number[]>()
  for (let round = 0; round < rounds; round++) {
    for (const c of cases) {
      const servers = ports.map((p, i) => {
        const url = `http://127.0.0.1:${p}`
        const server: Record<string, unknown> = { url }
        if (c.weights) server.weight = c.weights[i]
        if (c.name === 'rr+maxConns') server.maxConns = 64
        return server
      })
      const config = {
        upstreams: { b: { servers, keepAlive: { connections: 256 }, ...c.upstream } },
        routes: [{ to: 'b' }],
        log: { access: false },
      }
      const loaded = await ask<{ port?: number; error?: string }>(proxy, { type: 'load', config }, 'loaded')
      if (loaded.error) {
        if (round === 0) console.log(`${c.name.padEnd(20)} not supported by this tree: ${loaded.error.slice(0, 120)}`)
        continue
      }
      const url = `http://127.0.0.1:${loaded.port}/small`
      wrk(url, connections, 1) // warm-up: JIT, pool connections
      await ask(backends, { type: 'counts' }, 'counts')
      const cpu0 = (await ask<{ usage: NodeJS.CpuUsage }>(proxy, { type: 'cpu' }, 'cpu')).usage
      const r = wrk(url, connections, seconds)
      const cpu1 = (await ask<{ usage: NodeJS.CpuUsage }>(proxy, { type: 'cpu' }, 'cpu')).usage
      const { counts } = await ask<{ counts: number[] }>(backends, { type: 'counts' }, 'counts')
      const cpuUs = cpu1.user + cpu1.system - cpu0.user - cpu0.system
      const cpuList = cpuPerRequest.get(c.name) ?? []
      cpuList.push(cpuUs / Math.max(1, r.rps * seconds))
      cpuPerRequest.set(c.name, cpuList)
      const total = counts.reduce((a, b) => a + b, 0) || 1
      shares.set(c.name, counts.map((n) => `${Math.round((100 * n) / total)}%`).join(' / '))
      const list = results.get(c.name) ?? []
      list.push(r.rps)
      results.set(c.name, list)
      if (r.errors > 0) console.log(`${c.name}: ${r.errors} errors`)
    }
  }
  console.log(`${'case'.padEnd(20)} ${'req/s (median)'.padStart(15)} ${'proxy CPU µs/req'.padStart(17)}  ${'runs'.padEnd(24)} share a / b / c`)
  for (const c of cases) {
    const list = results.get(c.name)
    if (!list) continue
    const sorted = [...list].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)]!
    const cpu = [...cpuPerRequest.get(c.name)!].sort((a, b) => a - b)
    const cpuMedian = cpu[Math.floor(cpu.length / 2)]!
    console.log(`${c.name.padEnd(20)} ${median.toFixed(0).padStart(15)} ${cpuMedian.toFixed(1).padStart(17)}  ${list.map((n) => n.toFixed(0)).join(', ').padEnd(24)} ${shares.get(c.name)}`)
  }
  backends.kill()
  proxy.disconnect() // lets the proxy exit by itself (and write its profile) once its listener closes
  proxy.kill('SIGINT')
}

await main()

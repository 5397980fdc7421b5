// Scenarios measured for Switchyard only: cold start, reload latency, idle RSS, 10k idle connections.
import http from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, httpGet, sleep, start, stop, waitForHttp, type Managed } from './processes.js'
import { rssBytes } from './proc-stats.js'
import { median, percentile } from './stats.js'
import { mib, type KeyValueRow } from './report.js'
import { startSwitchyard, switchyardConfig, writeSwitchyardConfig } from './switchyard.js'
import { measureRun } from './scenarios.js'

export interface Ctx {
  repoRoot: string
  workDir: string
  originPort: number
  proxyCpus: string | undefined
  loadCpus: string | undefined
  log: (s: string) => void
  rounds: number
  durationS: number
  warmupS: number
}

const ms = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '–')

/** Spawn `switchyard start` → first proxied 200 on GET /small, median of `runs`. */
export async function coldStart(ctx: Ctx, runs = 5): Promise<KeyValueRow[]> {
  const times: number[] = []
  const rss: number[] = []
  const file = join(ctx.workDir, 'switchyard-cold.config.ts')
  for (let i = 0; i < runs; i++) {
    const port = await freePort()
    writeSwitchyardConfig(file, { port, originPort: ctx.originPort })
    const t0 = performance.now()
    const m = startSwitchyard(ctx.repoRoot, 'start', file, port, { cpus: ctx.proxyCpus }, 'switchyard (cold start)')
    try {
      await waitForHttp(port, '/small', m, 20_000, 1)
      times.push(performance.now() - t0)
      rss.push(rssBytes(m.pid))
    } finally {
      await stop(m)
    }
  }
  return [
    {
      metric: `cold start (spawn \`switchyard start\` → first proxied 200), median of ${runs}`,
      value: ms(median(times)),
      note: `min ${ms(Math.min(...times))}, max ${ms(Math.max(...times))}; includes Node startup and config bundling`,
    },
    { metric: 'RSS right after the first request', value: `${mib(median(rss))} MiB`, note: `median of ${runs} fresh processes` },
  ]
}

/** Rewrite the config while `switchyard dev` runs; time from the write to the new body answering. */
export async function reloadLatency(ctx: Ctx, runs = 20): Promise<KeyValueRow[]> {
  const port = await freePort()
  const file = join(ctx.workDir, 'switchyard-dev.config.ts')
  writeSwitchyardConfig(file, { port, originPort: ctx.originPort, version: 'v0' })
  const m = startSwitchyard(ctx.repoRoot, 'dev', file, port, { cpus: ctx.proxyCpus }, 'switchyard dev')
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    await waitForHttp(port, '/small', m, 20_000)
    const first = await httpGet(port, '/__bench/version', 1000, agent)
    if (first.status !== 200 || first.body !== 'v0') {
      throw new Error(`GET /__bench/version answered ${first.status} '${first.body.slice(0, 60)}' (respond route not supported?)`)
    }
    const times: number[] = []
    let misses = 0
    for (let i = 1; i <= runs; i++) {
      const want = `v${i}`
      const text = switchyardConfig({ port, originPort: ctx.originPort, version: want })
      const t0 = performance.now()
      writeFileSync(file, text)
      let ok = false
      while (performance.now() - t0 < 10_000) {
        if (m.hasExited()) throw new Error(`switchyard dev exited: ${m.output().slice(-500)}`)
        try {
          const r = await httpGet(port, '/__bench/version', 1000, agent)
          if (r.body === want) {
            ok = true
            break
          }
        } catch {
          /* a reload may drop a connection; keep polling */
        }
        await sleep(1)
      }
      if (ok) times.push(performance.now() - t0)
      else misses++
      await sleep(150) // let the watcher's debounce window close before the next edit
    }
    return [
      {
        metric: `reload (write config → new config answering), median of ${runs}`,
        value: ms(median(times)),
        note: `p90 ${ms(percentile(times, 90))}, max ${ms(Math.max(...times))}${misses ? `, **${misses} edits never seen within 10 s** ⚠` : ''}; polled every ~1 ms under \`switchyard dev\``,
      },
    ]
  } finally {
    agent.destroy()
    await stop(m)
  }
}

export interface IdleOptions {
  clientScript: string
  count: number
}

/** Fresh `switchyard start`; open `count` keep-alive connections from a separate process; RSS delta per connection. */
export async function idleConnections(ctx: Ctx, o: IdleOptions): Promise<KeyValueRow[]> {
  const port = await freePort()
  const file = join(ctx.workDir, 'switchyard-idle.config.ts')
  writeSwitchyardConfig(file, { port, originPort: ctx.originPort, keepAliveTimeout: '300s' })
  const nofile = o.count + 4096
  const m = startSwitchyard(ctx.repoRoot, 'start', file, port, { cpus: ctx.proxyCpus, nofile }, 'switchyard (idle conns)')
  let client: Managed | undefined
  try {
    await waitForHttp(port, '/small', m, 20_000)
    for (let i = 0; i < 50; i++) await httpGet(port, '/small')
    await sleep(500)
    const idle = rssBytes(m.pid)
    client = start('idle-keepalive client', process.execPath, [o.clientScript, '--port', String(port), '--count', String(o.count)], {
      cpus: ctx.loadCpus,
      nofile,
      stdin: true,
    })
    const line = await readLine(client, /^ready (\d+) (\d+)/m, 120_000)
    await sleep(1000) // let the proxy settle (GC, pool) before sampling
    const loaded = rssBytes(m.pid)
    client.child.stdin?.write('count\n')
    const openLine = await readLine(client, /^open (\d+)/m, 5000)
    const open = Number(openLine[1])
    const failed = Number(line[2])
    const perConn = (loaded - idle) / Math.max(1, open)
    return [
      { metric: 'idle RSS (fresh `switchyard start`, after 50 requests)', value: `${mib(idle)} MiB`, note: '' },
      {
        metric: `RSS with ${o.count.toLocaleString('en-US')} idle keep-alive connections`,
        value: `${mib(loaded)} MiB`,
        note: `${open.toLocaleString('en-US')} still open at sampling${failed ? `, **${failed} failed to open** ⚠` : ''}`,
      },
      { metric: 'RSS per idle connection', value: `${(perConn / 1024).toFixed(1)} KiB`, note: '(RSS with − idle RSS) / open connections' },
    ]
  } finally {
    if (client) {
      client.child.stdin?.end()
      await stop(client)
    }
    await stop(m)
  }
}

function readLine(m: Managed, re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hit = re.exec(m.output())
      if (hit) {
        cleanup()
        resolve(hit)
        return true
      }
      return false
    }
    const onData = (): void => void check()
    const timer = setTimeout(() => {
      cleanup()
      reject(new Error(`${m.name}: no ${re} within ${timeoutMs} ms: ${m.output().slice(-500)}`))
    }, timeoutMs)
    const onExit = (): void => {
      if (!check()) {
        cleanup()
        reject(new Error(`${m.name} exited: ${m.output().slice(-500)}`))
      }
    }
    function cleanup(): void {
      clearTimeout(timer)
      m.child.stdout?.off('data', onData)
      m.child.off('exit', onExit)
    }
    m.child.stdout?.on('data', onData)
    m.child.once('exit', onExit)
    check()
  })
}

/** The routes compared by `routeVariants`: the same small file through each. */
const VARIANTS = [
  { name: 'plain', path: '/plain/small', title: 'plain forward route' },
  { name: 'cached', path: '/cached/small', title: 'cache hit (memory store)' },
  { name: 'hooked', path: '/hooked/small', title: 'route with one onRequest hook' },
] as const

/**
 * Cache hit and hook cost, against a plain route of the same `switchyard start` (its own
 * instance, so the load scenarios' config stays one route): 64 connections, small body,
 * interleaved rounds (plain, cached, hooked, plain, …), medians, ratios to the plain route.
 */
export async function routeVariants(ctx: Ctx): Promise<KeyValueRow[]> {
  const port = await freePort()
  const file = join(ctx.workDir, 'switchyard-routes.config.ts')
  writeSwitchyardConfig(file, {
    port,
    originPort: ctx.originPort,
    routes: [
      `{ match: { path: '/plain/*' }, to: 'origin', rewrite: { stripPrefix: '/plain' } }`,
      `{ match: { path: '/cached/*' }, to: 'origin', rewrite: { stripPrefix: '/cached' }, cache: { ttl: '1h' } }`,
      `{ match: { path: '/hooked/*' }, to: 'origin', rewrite: { stripPrefix: '/hooked' }, hooks: { onRequest: () => {} } }`,
    ],
  })
  const m = startSwitchyard(ctx.repoRoot, 'start', file, port, { cpus: ctx.proxyCpus }, 'switchyard (routes)')
  try {
    await waitForHttp(port, '/plain/small', m, 20_000)
    const runs = new Map<string, Array<{ rps: number; cpu: number }>>(VARIANTS.map((v) => [v.name, []]))
    const scenario = (path: string) => ({ name: path, title: path, path, connections: 64, payloadBytes: 0 })
    for (const v of VARIANTS) await measureRun(scenario(v.path), port, m.pid, ctx.warmupS, ctx.loadCpus) // warm-up; fills the cache
    for (let r = 0; r < ctx.rounds; r++) {
      for (const v of VARIANTS) {
        const s = await measureRun(scenario(v.path), port, m.pid, ctx.durationS, ctx.loadCpus)
        if (s.errors) throw new Error(`${v.path}: ${s.errorText}`)
        runs.get(v.name)!.push({ rps: s.rps, cpu: s.cpuUsPerReq })
        ctx.log(`  round ${r + 1} ${v.name.padEnd(7)} ${Math.round(s.rps).toString().padStart(7)} req/s  ${Math.round(s.cpuUsPerReq)} µs/req`)
      }
    }
    const plain = runs.get('plain')!
    const plainCpu = median(plain.map((x) => x.cpu))
    return VARIANTS.map((v) => {
      const own = runs.get(v.name)!
      // Ratio per round (each against the plain run of its own round), then the median.
      const ratios = own.map((x, i) => x.rps / plain[i]!.rps)
      const rps = median(own.map((x) => x.rps))
      const cpu = median(own.map((x) => x.cpu))
      return {
        metric: `${v.title} (\`${v.path}\`, 64 connections)`,
        value: `${Math.round(rps).toLocaleString('en-US')} req/s`,
        note: v.name === 'plain'
          ? `${Math.round(plainCpu)} CPU µs/req; the baseline of the two rows below`
          : `${median(ratios).toFixed(2)}× the plain route's req/s (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')}); ${Math.round(cpu)} CPU µs/req (${(cpu / plainCpu).toFixed(2)}×)`,
      }
    })
  } finally {
    await stop(m)
  }
}

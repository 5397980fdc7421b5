// `npm run bench` — Switchyard against nginx, http-proxy, @fastify/http-proxy and a direct baseline.
// See bench/README.md for what it measures and the options.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { compileHelpers } from './lib/compile.js'
import { nginxBinary, nginxVersion, originConfig, proxyConfig, startNginx } from './lib/nginx.js'
import { cpuPlan, freePort, installCleanupHandlers, start, stopAll, waitForHttp, type Managed } from './lib/processes.js'
import { rssBytes, treeMemory } from './lib/proc-stats.js'
import { header, keyValueTable, mib, scenarioTable, type KeyValueRow, type ScenarioResult } from './lib/report.js'
import { LOAD_SCENARIOS, SWITCHYARD_SCENARIOS, measureRun } from './lib/scenarios.js'
import { ensureBuilt, startSwitchyard, writeSwitchyardConfig } from './lib/switchyard.js'
import { coldStart, idleConnections, reloadLatency, routeVariants, type Ctx } from './lib/switchyard-scenarios.js'
import { wrkVersion } from './lib/wrk.js'

const benchDir = dirname(fileURLToPath(import.meta.url))
const repoRoot = dirname(benchDir)
const workDir = join(benchDir, '.work')
const log = (s: string): void => void process.stdout.write(`${s}\n`)

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    duration: { type: 'string' },
    only: { type: 'string' },
    proxies: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'idle-connections': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

const allScenarioNames = [...LOAD_SCENARIOS.map((s) => s.name), ...SWITCHYARD_SCENARIOS.map((s) => s.name)]
const allProxyNames = ['nginx', 'switchyard', 'http-proxy', 'fastify', 'direct']

if (args.help) {
  log(`Usage: npm run bench -- [--quick] [--rounds N] [--duration S] [--only a,b] [--proxies a,b] [--idle-connections N]
  --quick             1 round of 2 s (overrides --rounds/--duration)
  --rounds N          interleaved rounds per scenario (default 3)
  --duration S        seconds per wrk run (default 5)
  --only a,b          scenarios: ${allScenarioNames.join(', ')}
  --proxies a,b       proxies: ${allProxyNames.join(', ')}
  --idle-connections  connections for idle-10k (default 10000)`)
  process.exit(0)
}

const rounds = args.quick ? 1 : Number(args.rounds ?? 3)
const durationS = args.quick ? 2 : Number(args.duration ?? 5)
const warmupS = Math.min(2, Math.max(1, Math.round(durationS / 2)))
const only = args.only ? new Set(args.only.split(',').map((s) => s.trim())) : undefined
const proxyFilter = args.proxies ? new Set(args.proxies.split(',').map((s) => s.trim())) : undefined
const idleCount = Number(args['idle-connections'] ?? 10000)
if (!(rounds >= 1) || !(durationS >= 1) || !(idleCount >= 1)) {
  console.error('--rounds, --duration and --idle-connections must be positive numbers')
  process.exit(2)
}
for (const n of only ?? []) {
  if (!allScenarioNames.includes(n)) {
    console.error(`unknown scenario '${n}'; known: ${allScenarioNames.join(', ')}`)
    process.exit(2)
  }
}
for (const n of proxyFilter ?? []) {
  if (!allProxyNames.includes(n)) {
    console.error(`unknown proxy '${n}'; known: ${allProxyNames.join(', ')}`)
    process.exit(2)
  }
}

const wrk = wrkVersion()
if (!wrk) {
  console.error(`wrk is not installed; the benchmark needs it to generate load.
Install it with:   sudo apt-get update && sudo apt-get install -y wrk     (Debian/Ubuntu)
                   brew install wrk                                          (macOS)
nginx is optional (origin + reference proxy):   sudo apt-get install -y nginx`)
  process.exit(1)
}
if (process.platform !== 'linux') {
  console.error('the benchmark reads /proc for CPU and memory: Linux only')
  process.exit(1)
}

const loadScenarios = LOAD_SCENARIOS.filter((s) => !only || only.has(s.name))
const syScenarios = SWITCHYARD_SCENARIOS.filter((s) => !only || only.has(s.name))
const wantProxy = (name: string): boolean => !proxyFilter || proxyFilter.has(name)

interface Target {
  name: string
  port: number
  m: Managed
}

async function main(): Promise<void> {
  installCleanupHandlers()
  mkdirSync(workDir, { recursive: true })
  const cpu = cpuPlan()
  if (cpu.load !== undefined) {
    // Keep this orchestrator (wrk parsing, /proc sampling) off the proxy's CPU too.
    spawnSync('taskset', ['-a', '-p', '-c', cpu.load, String(process.pid)], { stdio: 'ignore' })
  }

  const nginxBin = nginxBinary()
  if (!nginxBin) log('nginx not found: using the node:http origin and no nginx proxy (apt-get install -y nginx to add it)')

  // Plan and expected time.
  const proxyCount = allProxyNames.filter((p) => wantProxy(p) && (p !== 'nginx' || nginxBin)).length
  const perScenario = proxyCount * (warmupS + rounds * durationS + 0.5 * (rounds + 1))
  const routesTime = syScenarios.some((s) => s.name === 'routes') ? 3 * (warmupS + rounds * durationS + 0.5 * (rounds + 1)) + 2 : 0
  const syTime = syScenarios.length > 0 && wantProxy('switchyard') ? syScenarios.reduce((a, s) => a + s.estimateS, 0) + routesTime : 0
  const total = loadScenarios.length * perScenario + syTime + 10
  log(`Scenarios (${rounds} round(s) × ${durationS} s, warm-up ${warmupS} s per proxy):`)
  for (const s of LOAD_SCENARIOS) log(`  ${loadScenarios.includes(s) ? '✓' : '-'} ${s.name.padEnd(12)} ${s.title}`)
  for (const s of SWITCHYARD_SCENARIOS) log(`  ${syScenarios.includes(s) && wantProxy('switchyard') ? '✓' : '-'} ${s.name.padEnd(12)} ${s.title} (Switchyard only)`)
  log(`CPU: ${cpu.note}`)
  log(`Expected total time: ~${Math.ceil(total / 60)} min (${Math.round(total)} s)\n`)

  // Helpers → plain JS, static files for the origin.
  const js = await compileHelpers(benchDir, join(workDir, 'js'))
  const www = join(workDir, 'www')
  mkdirSync(www, { recursive: true })
  writeFileSync(join(www, 'small'), 'hello world\n')
  writeFileSync(join(www, '64k'), Buffer.alloc(64 * 1024, 'a'))
  writeFileSync(join(www, '1m'), Buffer.alloc(1024 * 1024, 'a'))
  writeFileSync(join(www, 'upload'), '') // POST target, see originConfig

  // Origin on the load CPU.
  const originPort = await freePort()
  const origin = nginxBin
    ? startNginx(nginxBin, 'nginx origin', join(workDir, 'nginx-origin'), originConfig(join(workDir, 'nginx-origin'), www, originPort), { cpus: cpu.load })
    : start('node origin', process.execPath, [js['node-origin']!, '--port', String(originPort)], { cpus: cpu.load })
  await waitForHttp(originPort, '/small', origin)
  log(`origin (${nginxBin ? 'nginx' : 'node:http'}) on :${originPort}`)

  // Proxies under test on the proxy CPU.
  const targets: Target[] = []
  const unavailable = new Map<string, string>()
  const originUrl = `http://127.0.0.1:${originPort}`
  const launch = async (name: string, begin: (port: number) => Managed | Promise<Managed>): Promise<void> => {
    if (!wantProxy(name)) return
    const port = await freePort()
    let m: Managed | undefined
    try {
      m = await begin(port)
      const ms = await waitForHttp(port, '/small', m)
      targets.push({ name, port, m })
      log(`${name} on :${port} (ready in ${ms.toFixed(0)} ms)`)
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e)
      unavailable.set(name, msg.split('\n').slice(0, 3).join(' ').slice(0, 300))
      log(`${name}: not available — ${msg.slice(0, 1500)}`)
    }
  }
  if (nginxBin) {
    await launch('nginx', (port) => {
      const dir = join(workDir, 'nginx-proxy')
      return startNginx(nginxBin, 'nginx proxy', dir, proxyConfig(dir, port, originPort), { cpus: cpu.proxy })
    })
  }
  await launch('switchyard', async (port) => {
    const why = await ensureBuilt(repoRoot, log)
    if (why) throw new Error(why)
    const file = join(workDir, 'switchyard.config.ts')
    writeSwitchyardConfig(file, { port, originPort })
    return startSwitchyard(repoRoot, 'start', file, port, { cpus: cpu.proxy })
  })
  await launch('http-proxy', (port) =>
    start('http-proxy', process.execPath, [js['http-proxy']!, '--port', String(port), '--target', originUrl], { cpus: cpu.proxy }))
  await launch('fastify', (port) =>
    start('fastify', process.execPath, [js['fastify-proxy']!, '--port', String(port), '--target', originUrl], { cpus: cpu.proxy }))
  if (wantProxy('direct')) targets.push({ name: 'direct', port: originPort, m: origin })

  const syTarget = targets.find((t) => t.name === 'switchyard')
  const syIdle = syTarget ? treeMemory(syTarget.m.pid) : undefined
  const rssIdle = new Map<string, number>(targets.map((t) => [t.name, t === syTarget ? syIdle!.rss : rssBytes(t.m.pid)]))

  // Load scenarios, interleaved: for each round, every proxy once (A B C … A B C …).
  const sections: string[] = []
  const allNoisy: string[] = []
  for (const sc of loadScenarios) {
    log(`\n== ${sc.title} ==`)
    const result: ScenarioResult = {
      name: sc.name,
      title: sc.title,
      connections: sc.connections,
      payloadBytes: sc.payloadBytes,
      results: targets.map((t) => ({ proxy: t.name, rounds: [], failures: [] })),
    }
    for (const t of targets) {
      try {
        await measureRun(sc, t.port, t.m.pid, warmupS, cpu.load)
      } catch (e) {
        log(`  warm-up ${t.name} failed: ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`)
      }
    }
    for (let r = 0; r < rounds; r++) {
      for (const [i, t] of targets.entries()) {
        const pr = result.results[i]!
        if (t.m.hasExited()) {
          pr.rounds.push(undefined)
          pr.failures.push(`${t.name} exited: ${t.m.output().slice(-200)}`)
          continue
        }
        try {
          const s = await measureRun(sc, t.port, t.m.pid, durationS, cpu.load)
          pr.rounds.push(s)
          log(`  round ${r + 1} ${t.name.padEnd(11)} ${Math.round(s.rps).toString().padStart(7)} req/s  p50 ${s.p50Ms.toFixed(2)} ms  p99 ${s.p99Ms.toFixed(2)} ms  ${Math.round(s.cpuUsPerReq)} µs/req  other CPU ${s.foreignPct.toFixed(0)}%${s.stealPct >= 1 ? ` steal ${s.stealPct.toFixed(0)}%` : ''}${s.errors ? `  errors: ${s.errorText}` : ''}`)
        } catch (e) {
          pr.rounds.push(undefined)
          pr.failures.push(e instanceof Error ? e.message : String(e))
          log(`  round ${r + 1} ${t.name} failed: ${e instanceof Error ? e.message.slice(0, 300) : String(e)}`)
        }
      }
    }
    const { markdown, noisy } = scenarioTable(result, rssIdle)
    allNoisy.push(...noisy)
    sections.push(markdown)
    log(`\n${markdown}`)
  }

  // Switchyard-only scenarios.
  const syRows: KeyValueRow[] = []
  if (syScenarios.length > 0 && wantProxy('switchyard')) {
    const why = unavailable.get('switchyard') ?? (await ensureBuilt(repoRoot, log))
    const ctx: Ctx = { repoRoot, workDir, originPort, proxyCpus: cpu.proxy, loadCpus: cpu.load, log, rounds, durationS, warmupS }
    for (const s of syScenarios) {
      if (why) {
        syRows.push({ metric: s.title, value: 'not available', note: why.slice(0, 200).replaceAll('|', '/') })
        continue
      }
      log(`\n== Switchyard: ${s.title} ==`)
      try {
        if (s.name === 'cold-start') syRows.push(...(await coldStart(ctx)))
        else if (s.name === 'reload') syRows.push(...(await reloadLatency(ctx)))
        else if (s.name === 'routes') syRows.push(...(await routeVariants(ctx)))
        else if (s.name === 'idle-10k') syRows.push(...(await idleConnections(ctx, { clientScript: js['idle-keepalive']!, count: idleCount })))
        else if (s.name === 'idle-rss') {
          const t = targets.find((x) => x.name === 'switchyard')
          if (t) {
            syRows.push({
              metric: 'idle RSS after start (before any load)', value: `${mib(rssIdle.get('switchyard') ?? Number.NaN)} MiB`,
              note: `the instance used for the load scenarios; per process (supervisor, worker…): ${syIdle?.each.map((b) => mib(b)).join(' + ') ?? '?'} MiB`,
            })
            syRows.push({
              metric: 'idle PSS after start (shared pages counted once)', value: `${mib(syIdle?.pss ?? Number.NaN)} MiB`,
              note: 'Pss from /proc/PID/smaps_rollup, summed over the tree',
            })
          }
        }
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e)
        log(`  failed: ${msg.slice(0, 1000)}`)
        syRows.push({ metric: s.title, value: 'failed', note: msg.split('\n')[0]!.slice(0, 200).replaceAll('|', '/') })
      }
    }
  }
  if (syRows.length > 0) {
    const md = keyValueTable('Switchyard only', syRows)
    sections.push(md)
    log(`\n${md}`)
  }

  // Idle RSS of every process, start and end of the run.
  const rssRows = targets.map((t) => [t.name, mib(rssIdle.get(t.name) ?? Number.NaN), mib(rssBytes(t.m.pid))])
  const rssMd = `### Memory of the processes under test (RSS, MiB; nginx = master + worker)\n\n| proxy | idle after start | idle at end of run |\n|---|---:|---:|\n${rssRows.map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`
  sections.push(rssMd)
  if (unavailable.size > 0) {
    sections.push(`### Not available in this run\n\n${[...unavailable].map(([k, v]) => `- **${k}**: ${v.replaceAll('\n', ' ')}`).join('\n')}\n`)
  }

  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'runtime'], { cwd: repoRoot, encoding: 'utf8' }).trim()
    if (dirty) commit += ' + uncommitted changes in src/ or runtime/'
  } catch {
    /* not a git checkout */
  }
  const ranSwitchyard = targets.some((t) => t.name === 'switchyard')
  const doc = `${header({
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    node: process.version,
    nginx: nginxBin ? nginxVersion(nginxBin) : 'not installed',
    wrk: wrk ?? 'unknown',
    origin: nginxBin ? 'nginx (1 worker, static files; POST /upload discards the body)' : 'node:http (bench/proxies/node-origin.ts)',
    pinning: cpu.note,
    rounds,
    durationS,
    commit: `${commit}${ranSwitchyard ? '' : ' (Switchyard not run)'}`,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  })}
Connections: ${LOAD_SCENARIOS.map((s) => `${s.name} ${s.connections}`).join(', ')}; wrk -t1 --latency.

${sections.join('\n')}${allNoisy.length ? '' : '\nNo noisy rounds.\n'}`
  writeFileSync(join(benchDir, 'RESULTS.md'), doc)
  log(`\nWrote ${join(benchDir, 'RESULTS.md')}`)
}

const t0 = Date.now()
try {
  await main()
} catch (e) {
  console.error(e instanceof Error ? e.stack ?? e.message : e)
  process.exitCode = 1
} finally {
  await stopAll()
  log(`(took ${Math.round((Date.now() - t0) / 1000)} s)`)
}

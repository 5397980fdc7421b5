// The scenario list and one measured wrk run.
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuMicros, foreignCpu, sampleRss } from './proc-stats.js'
import { livePids } from './processes.js'
import type { Sample } from './report.js'
import { runWrk } from './wrk.js'

const MiB = 1024 * 1024
const luaDir = join(dirname(dirname(fileURLToPath(import.meta.url))), 'lua')

export interface LoadScenario {
  name: string
  title: string
  path: string
  connections: number
  /** Body bytes per request that count for MiB/s (0: report req/s only). */
  payloadBytes: number
  script?: string
}

export const LOAD_SCENARIOS: LoadScenario[] = [
  { name: 'small-64', title: 'Small body (12 B), 64 connections', path: '/small', connections: 64, payloadBytes: 0 },
  { name: 'small-256', title: 'Small body (12 B), 256 connections', path: '/small', connections: 256, payloadBytes: 0 },
  { name: '64k', title: '64 KiB download, 64 connections', path: '/64k', connections: 64, payloadBytes: 64 * 1024 },
  { name: '1m-download', title: '1 MiB download, 16 connections', path: '/1m', connections: 16, payloadBytes: MiB },
  { name: '1m-upload', title: '1 MiB upload (POST), 16 connections', path: '/upload', connections: 16, payloadBytes: MiB, script: join(luaDir, 'upload.lua') },
  { name: 'small-post', title: 'Small POST (512 B body, 2 B answer), 64 connections', path: '/upload', connections: 64, payloadBytes: 0, script: join(luaDir, 'post-512.lua') },
  { name: 'small-close', title: 'Small body (12 B), a new connection per request (`Connection: close`), 64 at a time', path: '/small', connections: 64, payloadBytes: 0, script: join(luaDir, 'close.lua') },
  { name: 'mixed', title: 'Mixed: 9 small GETs then a 512 B POST per connection, 64 connections', path: '/small', connections: 64, payloadBytes: 0, script: join(luaDir, 'mixed.lua') },
]

export interface SwitchyardScenario {
  name: string
  title: string
  /** Rough seconds, for the time estimate printed at start. */
  estimateS: number
}

export const SWITCHYARD_SCENARIOS: SwitchyardScenario[] = [
  { name: 'idle-rss', title: 'Idle RSS', estimateS: 0 },
  { name: 'cold-start', title: 'Cold start (spawn → first proxied 200), median of 5', estimateS: 10 },
  { name: 'reload', title: 'Reload latency under `switchyard dev`, median of 20', estimateS: 10 },
  { name: 'idle-10k', title: 'Memory with 10,000 idle keep-alive connections', estimateS: 20 },
  // estimateS is per round × duration; see bench/run.ts.
  { name: 'routes', title: 'Cache hit and a route with a hook, against a plain route (small body, 64 connections)', estimateS: 0 },
]

/** One wrk run against `port`, with the CPU time and peak RSS of the process tree rooted at `pid`. */
export async function measureRun(sc: LoadScenario, port: number, pid: number, durationS: number, loadCpus: string | undefined): Promise<Sample> {
  const rss = sampleRss(pid)
  const foreign = foreignCpu(livePids)
  const cpu0 = cpuMicros(pid)
  let rssLoad = 0
  const res = await runWrk({
    url: `http://127.0.0.1:${port}${sc.path}`,
    connections: sc.connections,
    durationS,
    script: sc.script,
    cpus: loadCpus,
  }).finally(() => {
    rssLoad = rss.stop()
  })
  const cpu1 = cpuMicros(pid)
  const { foreignPct, stealPct } = foreign.stop()
  return {
    rps: res.rps,
    p50Ms: res.p50Ms,
    p99Ms: res.p99Ms,
    cpuUsPerReq: res.requests > 0 ? (cpu1 - cpu0) / res.requests : Number.NaN,
    rssLoad,
    mibps: sc.payloadBytes > 0 ? (res.rps * sc.payloadBytes) / MiB : Number.NaN,
    errors: res.errors,
    errorText: res.errorText,
    foreignPct,
    stealPct,
  }
}

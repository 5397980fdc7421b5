// Markdown tables for stdout and bench/RESULTS.md.
import { median } from './stats.js'

/** One wrk run against one proxy. */
export interface Sample {
  rps: number
  p50Ms: number
  p99Ms: number
  /** Proxy process tree user+sys CPU per request, µs. */
  cpuUsPerReq: number
  /** Peak RSS of the proxy process tree during the run, bytes. */
  rssLoad: number
  /** Payload MiB/s (response body for downloads, request body for uploads). */
  mibps: number
  errors: number
  errorText: string
  /** CPU used by processes that are not part of the benchmark during the run, % of one CPU. */
  foreignPct: number
  /** Hypervisor steal during the run, % of one CPU. */
  stealPct: number
}

export interface ProxyResult {
  proxy: string
  /** One entry per round (undefined when that run failed). */
  rounds: Array<Sample | undefined>
  failures: string[]
}

export interface ScenarioResult {
  name: string
  title: string
  connections: number
  /** Payload bytes per request, for MiB/s; 0 for the small-body scenarios. */
  payloadBytes: number
  results: ProxyResult[]
}

export const NOISE_THRESHOLD = 0.15
/** A round is marked as contended when processes outside the benchmark used more than this (% of one CPU). */
export const FOREIGN_THRESHOLD_PCT = 10
export const STEAL_THRESHOLD_PCT = 5

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–')
const fmt = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–')
export const mib = (bytes: number): string => fmt(bytes / 1024 / 1024, 1)

function table(header: string[], rows: string[][], align?: string[]): string {
  const sep = align ?? header.map((_, i) => (i === 0 ? '---' : '---:'))
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
}

interface Row {
  proxy: string
  rps: number
  ratio: number
  ratios: number[]
  samples: Sample[]
}

/** Per-round ratio to nginx (same round), then the median of those ratios. */
function ratiosFor(r: ProxyResult, nginx: ProxyResult | undefined): number[] {
  if (!nginx) return []
  const out: number[] = []
  r.rounds.forEach((s, i) => {
    const n = nginx.rounds[i]
    if (s && n && n.rps > 0) out.push(s.rps / n.rps)
  })
  return out
}

export function scenarioTable(sc: ScenarioResult, rssIdle: Map<string, number>): { markdown: string; noisy: string[] } {
  const nginx = sc.results.find((r) => r.proxy === 'nginx')
  const noisy: string[] = []
  const contended: string[] = []
  const rows: Row[] = sc.results.map((r) => {
    const samples = r.rounds.filter((s): s is Sample => s !== undefined)
    const ratios = ratiosFor(r, nginx)
    return { proxy: r.proxy, rps: median(samples.map((s) => s.rps)), ratio: median(ratios), ratios, samples }
  })
  const withMib = sc.payloadBytes > 0
  const header = ['proxy', 'req/s (median)']
  if (withMib) header.push('MiB/s')
  header.push('× nginx', 'p50 ms', 'p99 ms', 'CPU µs/req', 'RSS idle MiB', 'RSS load MiB', 'errors', 'req/s per round (× nginx)')
  const body = rows.map((row) => {
    const res = sc.results.find((r) => r.proxy === row.proxy)!
    if (row.samples.length === 0) {
      const cells = [row.proxy, 'failed']
      while (cells.length < header.length - 1) cells.push('–')
      cells.push(res.failures[0]?.slice(0, 80).replaceAll('|', '/').replaceAll('\n', ' ') ?? '')
      return cells
    }
    const perRound = res.rounds.map((s, i) => {
      if (!s) return '✗'
      const dev = Math.abs(s.rps - row.rps) / row.rps
      const flag = row.samples.length >= 3 && dev > NOISE_THRESHOLD ? ' ⚠' : ''
      if (flag) noisy.push(`${sc.name}: ${row.proxy} round ${i + 1} = ${fmtInt(s.rps)} req/s, ${(dev * 100).toFixed(0)}% from median ${fmtInt(row.rps)}`)
      const n = nginx?.rounds[i]
      const ratio = n && n.rps > 0 ? ` (${fmt(s.rps / n.rps, 2)})` : ''
      const busy = s.foreignPct > FOREIGN_THRESHOLD_PCT || s.stealPct > STEAL_THRESHOLD_PCT
      const busyText = busy ? ` [other ${s.foreignPct.toFixed(0)}%${s.stealPct > STEAL_THRESHOLD_PCT ? `, steal ${s.stealPct.toFixed(0)}%` : ''}]` : ''
      if (busy) contended.push(`${sc.name}: ${row.proxy} round ${i + 1}: other processes used ${s.foreignPct.toFixed(0)}% of a CPU, steal ${s.stealPct.toFixed(0)}%`)
      return `${fmtInt(s.rps)}${ratio}${flag}${busyText}`
    })
    const errors = row.samples.reduce((a, s) => a + s.errors, 0)
    const errText = errors > 0 ? `**${errors}** ⚠ (${row.samples.map((s) => s.errorText).filter(Boolean)[0] ?? ''})` : '0'
    const cells = [row.proxy, fmtInt(row.rps)]
    if (withMib) cells.push(fmtInt(median(row.samples.map((s) => s.mibps))))
    cells.push(
      Number.isFinite(row.ratio) ? fmt(row.ratio, 2) : '–',
      fmt(median(row.samples.map((s) => s.p50Ms)), 2),
      fmt(median(row.samples.map((s) => s.p99Ms)), 2),
      fmtInt(median(row.samples.map((s) => s.cpuUsPerReq))),
      mib(rssIdle.get(row.proxy) ?? Number.NaN),
      mib(Math.max(...row.samples.map((s) => s.rssLoad))),
      errText,
      perRound.join(', '),
    )
    return cells
  })
  let md = `### ${sc.title}\n\n${table(header, body)}\n`
  if (contended.length > 0) md += `\nRounds run while other processes were busy (> ${FOREIGN_THRESHOLD_PCT}% of a CPU not ours, or steal > ${STEAL_THRESHOLD_PCT}%):\n${contended.map((n) => `- ${n}`).join('\n')}\n`
  if (noisy.length > 0) md += `\nNoisy rounds (> ${NOISE_THRESHOLD * 100}% from the proxy's median, kept in the medians):\n${noisy.map((n) => `- ${n}`).join('\n')}\n`
  return { markdown: md, noisy: [...noisy, ...contended] }
}

export interface KeyValueRow {
  metric: string
  value: string
  note: string
}

export function keyValueTable(title: string, rows: KeyValueRow[]): string {
  return `### ${title}\n\n${table(['metric', 'value', 'notes'], rows.map((r) => [r.metric, r.value, r.note]), ['---', '---:', '---'])}\n`
}

export interface Environment {
  date: string
  machine: string
  cores: number
  node: string
  nginx: string
  wrk: string
  origin: string
  pinning: string
  rounds: number
  durationS: number
  commit: string
  command: string
}

export function header(env: Environment): string {
  return `# Switchyard benchmark results

Generated by \`npm run bench\` (bench/run.ts). Do not edit by hand; re-run instead.

| | |
|---|---|
| date | ${env.date} |
| machine | ${env.machine} |
| cores | ${env.cores} |
| Node | ${env.node} |
| nginx | ${env.nginx} |
| wrk | ${env.wrk} |
| origin | ${env.origin} |
| CPU pinning | ${env.pinning} |
| rounds × duration | ${env.rounds} × ${env.durationS} s (interleaved, warm-up per proxy per scenario) |
| Switchyard commit | ${env.commit} |
| command | \`${env.command}\` |

How to read: req/s, latency, CPU and RSS are medians over the rounds (RSS load: peak). "× nginx" is the
median of the per-round ratios to the nginx proxy measured in the same round. CPU µs/req is the proxy's
own user+sys time (/proc/PID/stat, whole process tree: nginx master + worker, Switchyard + its esbuild service) divided by requests served.
For "direct" the measured process is the origin itself. A round more than ${NOISE_THRESHOLD * 100}% off its median is flagged ⚠;
a round during which processes outside the benchmark used > ${FOREIGN_THRESHOLD_PCT}% of a CPU (from /proc/stat minus our own
processes) is marked [other N%]. CPU µs/req is the least noise-sensitive column.
`
}

// Runs wrk and parses its `--latency` output.
import { spawnSync } from 'node:child_process'
import { runToEnd } from './processes.js'

export interface WrkResult {
  requests: number
  rps: number
  /** Response bytes per second as wrk reports it (Transfer/sec). */
  transferBytesPerSec: number
  p50Ms: number
  p99Ms: number
  /** Non-2xx/3xx responses + socket errors (connect, read, write, timeout). */
  errors: number
  errorText: string
  raw: string
}

export interface WrkOptions {
  url: string
  connections: number
  durationS: number
  threads?: number
  script?: string
  cpus?: string
  timeoutS?: number
}

export function wrkVersion(): string | undefined {
  const r = spawnSync('wrk', ['-v'], { encoding: 'utf8' })
  if (r.error) return undefined
  const m = /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)
  return m?.[1] ?? 'unknown'
}

const timeUnits: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60000, h: 3600000 }
const sizeUnits: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }

export function parseDurationMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim())
  if (!m) return Number.NaN
  return Number(m[1]) * timeUnits[m[2]!]!
}

export function parseSize(s: string): number {
  const m = /^([\d.]+)([KMGT]?B)$/.exec(s.trim())
  if (!m) return Number.NaN
  return Number(m[1]) * sizeUnits[m[2]!]!
}

export function parseWrk(out: string): Omit<WrkResult, 'raw'> {
  const num = (re: RegExp): number => {
    const m = re.exec(out)
    return m ? Number(m[1]) : Number.NaN
  }
  const requests = num(/(\d+) requests in/)
  const rps = num(/Requests\/sec:\s+([\d.]+)/)
  const transfer = /Transfer\/sec:\s+(\S+)/.exec(out)
  const p50 = /^\s*50%\s+(\S+)/m.exec(out)
  const p99 = /^\s*99%\s+(\S+)/m.exec(out)
  const non2xx = num(/Non-2xx or 3xx responses:\s+(\d+)/)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const parts: string[] = []
  let errors = 0
  if (!Number.isNaN(non2xx)) {
    errors += non2xx
    parts.push(`${non2xx} non-2xx`)
  }
  if (sock) {
    const [c, r, w, t] = sock.slice(1).map(Number) as [number, number, number, number]
    errors += c + r + w + t
    parts.push(`socket c${c}/r${r}/w${w}/t${t}`)
  }
  return {
    requests,
    rps,
    transferBytesPerSec: transfer ? parseSize(transfer[1]!) : Number.NaN,
    p50Ms: p50 ? parseDurationMs(p50[1]!) : Number.NaN,
    p99Ms: p99 ? parseDurationMs(p99[1]!) : Number.NaN,
    errors,
    errorText: parts.join(', '),
  }
}

export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads ?? 1}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--latency',
    // A request that takes longer than this counts as a timeout error, so a stalled connection
    // shows up in the errors column instead of only as a low req/s.
    '--timeout', `${o.timeoutS ?? Math.max(1, Math.min(2, Math.floor(o.durationS / 2)))}s`,
  ]
  if (o.script) args.push('-s', o.script)
  args.push(o.url)
  const r = await runToEnd('wrk', args, { cpus: o.cpus, timeoutMs: (o.durationS + 30) * 1000 })
  const raw = r.out + r.err
  if (r.code !== 0) throw new Error(`wrk exited with ${r.code}: ${raw.slice(-1000)}`)
  const parsed = parseWrk(r.out)
  if (Number.isNaN(parsed.rps)) throw new Error(`could not parse wrk output:\n${raw}`)
  return { ...parsed, raw }
}

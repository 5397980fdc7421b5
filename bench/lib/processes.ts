// Child-process bookkeeping for the benchmark: every process we start is tracked by PID
// (spawned as its own process group) and stopped by that PID on exit, error or SIGINT.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import http from 'node:http'
import os from 'node:os'

export interface Managed {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  /** Last ~8 KB of stdout+stderr, for error messages. */
  output(): string
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>
  hasExited(): boolean
}

const live = new Map<number, Managed>()

export interface StartOptions {
  cwd?: string
  env?: NodeJS.ProcessEnv
  /** CPU list for `taskset -c`, or undefined for no pinning. */
  cpus?: string
  /** Raise the open-files soft limit to this (capped at the hard limit) via `bash -c 'ulimit -n'`. */
  nofile?: number
  /** Give the child a writable stdin pipe (default: ignored). */
  stdin?: boolean
}

let tasksetPath: string | null | undefined
function hasTaskset(): boolean {
  if (tasksetPath === undefined) {
    const r = spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' })
    tasksetPath = r.status === 0 ? r.stdout.trim() : null
  }
  return tasksetPath !== null
}

/** `{ proxy: '0', load: '1' }` on a machine with ≥ 2 CPUs and taskset; no pinning otherwise. */
export function cpuPlan(): { proxy?: string; load?: string; note: string } {
  const n = os.cpus().length
  if (n >= 2 && hasTaskset()) {
    return { proxy: '0', load: '1', note: 'proxy under test on CPU 0; wrk and origin on CPU 1 (taskset)' }
  }
  return { note: n < 2 ? 'single CPU: no pinning' : 'taskset not found: no pinning' }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}

/** Builds argv with optional `taskset` and `ulimit` wrappers; every wrapper `exec`s, so the PID stays the same. */
export function wrapCommand(cmd: string, args: string[], opts: StartOptions): [string, string[]] {
  let argv = [cmd, ...args]
  if (opts.cpus !== undefined && hasTaskset()) argv = ['taskset', '-c', opts.cpus, ...argv]
  if (opts.nofile !== undefined) {
    const script = `ulimit -n ${opts.nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${argv.map(shellQuote).join(' ')}`
    argv = ['bash', '-c', script]
  }
  return [argv[0]!, argv.slice(1)]
}

export function start(name: string, cmd: string, args: string[], opts: StartOptions = {}): Managed {
  const [file, argv] = wrapCommand(cmd, args, opts)
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    detached: true, // own process group: killing -PID also reaches nginx workers
  })
  if (child.pid === undefined) throw new Error(`could not start ${name} (${file})`)
  const pid = child.pid
  let buf = ''
  const keep = (d: Buffer): void => {
    buf = (buf + d.toString('utf8')).slice(-8192)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let done = false
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      done = true
      live.delete(pid)
      resolve(code)
    })
    child.on('error', () => {
      done = true
      live.delete(pid)
      resolve(null)
    })
  })
  const m: Managed = { name, pid, child, output: () => buf, exited, hasExited: () => done }
  live.set(pid, m)
  return m
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig)
  } catch {
    try {
      process.kill(pid, sig)
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERM the process group started for `m`, then SIGKILL after `graceMs`. */
export async function stop(m: Managed, graceMs = 3000): Promise<void> {
  if (m.hasExited()) {
    signalGroup(m.pid, 'SIGKILL') // stray group members (e.g. nginx workers), if any
    return
  }
  signalGroup(m.pid, 'SIGTERM')
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref())
  if ((await Promise.race([m.exited, timer])) === 'timeout') {
    signalGroup(m.pid, 'SIGKILL')
    await m.exited
  }
  signalGroup(m.pid, 'SIGKILL')
}

/** PIDs of every process we started that is still running. */
export function livePids(): number[] {
  return [...live.keys()]
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map((m) => stop(m)))
}

/** Synchronous last resort for `process.on('exit')`. */
export function killAllSync(): void {
  for (const pid of live.keys()) signalGroup(pid, 'SIGKILL')
  live.clear()
}

let installed = false
export function installCleanupHandlers(): void {
  if (installed) return
  installed = true
  process.on('exit', killAllSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping ${live.size} child process(es)…\n`)
      void stopAll().finally(() => process.exit(130))
    })
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export interface GetResult {
  status: number
  body: string
}

/** One GET on a fresh connection (no agent reuse), bounded by `timeoutMs`. */
export function httpGet(port: number, path: string, timeoutMs = 1000, agent?: http.Agent): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: agent ?? false, timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
}

/**
 * Polls `GET path` until it answers 200. Fails early when `m` exits, and after `timeoutMs`.
 * Never a fixed sleep: the poll interval is 5 ms.
 */
export async function waitForHttp(port: number, path: string, m?: Managed, timeoutMs = 20000, everyMs = 5): Promise<number> {
  const t0 = performance.now()
  let last = ''
  while (performance.now() - t0 < timeoutMs) {
    if (m?.hasExited()) {
      throw new Error(`${m.name} exited before it answered on :${port}\n${m.output().slice(-2000)}`)
    }
    try {
      const r = await httpGet(port, path, 1000)
      if (r.status === 200) return performance.now() - t0
      last = `HTTP ${r.status}`
    } catch (e) {
      last = e instanceof Error ? e.message : String(e)
    }
    await sleep(everyMs)
  }
  throw new Error(`${m?.name ?? 'server'} did not answer 200 on :${port}${path} within ${timeoutMs} ms (last: ${last})\n${m?.output().slice(-2000) ?? ''}`)
}

/** Runs a command to completion and returns stdout+stderr (bounded). */
export function runToEnd(cmd: string, args: string[], opts: StartOptions & { timeoutMs: number }): Promise<{ code: number | null; out: string; err: string }> {
  const [file, argv] = wrapCommand(cmd, args, opts)
  return new Promise((resolve) => {
    const child = spawn(file, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const pid = child.pid
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')))
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')))
    const timer = setTimeout(() => {
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          /* gone */
        }
      }
    }, opts.timeoutMs)
    if (pid !== undefined) {
      live.set(pid, { name: cmd, pid, child, output: () => out + err, exited: Promise.resolve(null), hasExited: () => false })
    }
    child.on('close', (code) => {
      clearTimeout(timer)
      if (pid !== undefined) live.delete(pid)
      resolve({ code, out, err })
    })
    child.on('error', (e) => {
      clearTimeout(timer)
      if (pid !== undefined) live.delete(pid)
      resolve({ code: null, out, err: err + e.message })
    })
  })
}

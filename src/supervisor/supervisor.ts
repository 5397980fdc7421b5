/**
 * `switchyard start`/`dev` run this small process in front of the proxy: it forks the proxy
 * workers (node:cluster, so N workers share the listening ports), replaces a worker that dies
 * or that its watchdog reports blocked, forwards SIGHUP (a reload, rolled out one worker at
 * a time) and SIGINT/SIGTERM (drain, then exit 0). It never loads the config itself: user
 * code runs only in workers, so nothing a config does can block the supervisor.
 *
 * A worker reported blocked while it was the only one serving is replaced before it is
 * killed: it keeps its listening sockets (new connections wait in the accept queue) until the
 * replacement listens. Replacements start from the last bundle that loaded, so a reload
 * whose top-level code blocks leaves the previous config serving.
 */
import cluster, { type Worker } from 'node:cluster'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import type { ConfigBundle } from '../config/bundle-config.js'
import type { Logger } from '../log/logger.js'
import type { BlockedReport } from '../../runtime/watchdog/shared.js'
import { describePhase } from '../../runtime/watchdog/shared.js'
import { Backoff } from './backoff.js'
import { REPORT_FD, WORKER_ENV, isFromWorker, type FromWorker, type ToWorker } from './protocol.js'
import { heapFlagsEnv, mallocEnv, workerHeapFlags } from './heap-flags.js'

export interface SupervisorOptions {
  workers: number
  log: Logger
}

interface Slot { n: number; backoff: Backoff; timer?: NodeJS.Timeout }

interface Proc {
  worker: Worker
  slot: Slot
  pid: number
  readyAt?: number
  blocked?: BlockedReport
  /** The blocked worker this one replaces (killed once this one is ready). */
  replacing?: Proc
  replacedBy?: Proc
  drainTimeout: number
  /** Waiting for this worker's next `config` message (a reload rollout). */
  onConfig?: (result: 'ok' | 'failed' | 'gone') => void
  /** Resolves true when the worker serves, false when it died or blocked first. */
  ready: Promise<boolean>
  settle: (ready: boolean) => void
}

export function runSupervisor(options: SupervisorOptions): Promise<number> {
  return new Supervisor(options).run()
}

class Supervisor {
  readonly #log: Logger
  readonly #slots: Slot[]
  readonly #procs = new Set<Proc>()
  #lastGood: ConfigBundle | undefined
  #everReady = false
  #stopping = false
  #exitCode = 0
  #done!: (code: number) => void
  /** Tells each worker which heap flags to put back to their defaults once V8 has used them. */
  readonly #workerEnv = { ...mallocEnv(), ...heapFlagsEnv(workerHeapFlags()) }
  #rolling: Promise<void> | undefined
  #rollAgain = false

  constructor(readonly options: SupervisorOptions) {
    this.#log = options.log
    this.#slots = Array.from({ length: options.workers }, (_, i) => ({ n: i + 1, backoff: new Backoff() }))
  }

  run(): Promise<number> {
    // Workers accept connections themselves from the shared listening socket (SCHED_NONE), not
    // round robin through this process (Node's default): no per-connection hop through here,
    // and a blocked worker simply stops accepting. With round robin this process hands the
    // next connection to a worker that looks free but is blocked, and that connection hangs
    // for good when the worker is killed (seen in the tests here). NODE_CLUSTER_SCHED_POLICY=rr
    // still selects round robin.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE
    cluster.setupPrimary({
      exec: process.argv[1],
      args: process.argv.slice(2),
      execArgv: workerExecArgv(),
      stdio: ['inherit', 'inherit', 'inherit', 'ipc', 'pipe'],
    })
    const done = new Promise<number>((resolve) => (this.#done = resolve))
    const onHup = () => void this.#reload()
    const onStop = (signal: NodeJS.Signals) => () => this.#stop(signal)
    const onInt = onStop('SIGINT')
    const onTerm = onStop('SIGTERM')
    process.on('SIGHUP', onHup)
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    for (const slot of this.#slots) this.#fork(slot)
    return done.finally(() => {
      process.off('SIGHUP', onHup)
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    })
  }

  #fork(slot: Slot, replacing?: Proc): Proc {
    slot.timer = undefined
    const worker = cluster.fork({ ...this.#workerEnv, [WORKER_ENV]: String(slot.n) })
    let settle!: (ready: boolean) => void
    const ready = new Promise<boolean>((resolve) => (settle = resolve))
    const proc: Proc = { worker, slot, pid: worker.process.pid ?? 0, drainTimeout: 10_000, replacing, ready, settle }
    if (replacing) replacing.replacedBy = proc
    this.#procs.add(proc)
    worker.on('message', (m: unknown) => {
      if (isFromWorker(m)) this.#onMessage(proc, m)
    })
    const reports = worker.process.stdio[REPORT_FD] as Readable | null | undefined
    worker.on('exit', (code: number | null, signal: string | null) => {
      // Processes the worker started may still hold the pipe open: don't wait for its end.
      reports?.destroy()
      this.#onExit(proc, code, signal as NodeJS.Signals | null)
    })
    worker.on('error', () => {}) // IPC to a dying worker; its exit is what counts
    if (reports) {
      createInterface({ input: reports }).on('line', (line) => {
        try {
          const report = JSON.parse(line) as BlockedReport
          if (report.type === 'blocked') this.#onBlocked(proc, report)
        } catch {
          // not a report
        }
      })
    }
    return proc
  }

  #send(proc: Proc, m: ToWorker): void {
    if (proc.worker.isConnected()) proc.worker.send(m)
  }

  #onMessage(proc: Proc, m: FromWorker): void {
    switch (m.sy) {
      case 'hello':
        return this.#send(proc, { sy: 'boot', bundle: this.#lastGood })
      case 'ready': {
        proc.readyAt = Date.now()
        proc.drainTimeout = m.drainTimeout
        this.#log.format = m.format
        this.#lastGood = m.bundle
        this.#everReady = true
        proc.settle(true)
        const old = proc.replacing
        if (old && this.#procs.has(old)) {
          this.#log.info(`worker ${proc.slot.n} (pid ${proc.pid}) is serving; stopping the blocked worker (pid ${old.pid})`)
          old.worker.process.kill('SIGKILL')
        }
        if (this.#stopping) this.#send(proc, { sy: 'stop', signal: 'SIGTERM' })
        return
      }
      case 'config': {
        if (m.ok && m.bundle) this.#lastGood = m.bundle
        const waiter = proc.onConfig
        proc.onConfig = undefined
        waiter?.(m.ok ? 'ok' : 'failed')
      }
    }
  }

  #onBlocked(proc: Proc, report: BlockedReport): void {
    if (proc.blocked || !this.#procs.has(proc)) return
    proc.blocked = report
    proc.settle(false)
    const waiter = proc.onConfig
    proc.onConfig = undefined
    waiter?.('gone')
    const where = report.at ? ` in ${report.fn ? `${report.fn} at ` : ''}${report.at}` : ''
    const what = `worker ${proc.slot.n} (pid ${proc.pid}): event loop blocked ${describePhase(report.phase)}${where}`
    const healthy = [...this.#procs].some((p) => p !== proc && p.readyAt !== undefined && !p.blocked)
    if (!this.#stopping && proc.readyAt !== undefined && !healthy && !proc.replacedBy) {
      this.#log.error(`${what}; starting a replacement${this.#lastGood ? ' with the last config that loaded' : ''} (new connections wait until it listens)`)
      this.#fork(proc.slot, proc)
      return
    }
    this.#log.error(`${what}; stopping it`)
    proc.worker.process.kill('SIGKILL')
  }

  #onExit(proc: Proc, code: number | null, signal: NodeJS.Signals | null): void {
    this.#procs.delete(proc)
    proc.settle(false)
    const waiter = proc.onConfig
    proc.onConfig = undefined
    waiter?.('gone')
    const old = proc.replacing
    if (old && proc.readyAt === undefined && this.#procs.has(old)) {
      // The replacement failed before serving: stop the blocked worker too; its exit restarts the slot.
      old.replacedBy = undefined
      old.worker.process.kill('SIGKILL')
    }
    if (this.#stopping) {
      if (proc.readyAt !== undefined && code !== 0 && !proc.blocked && !proc.replacedBy) this.#exitCode = 1
      if (this.#procs.size === 0) this.#done(this.#exitCode)
      return
    }
    if (proc.replacedBy) return
    const reason = proc.blocked ? 'was stopped: its event loop was blocked' : signal ? `was killed by ${signal}` : `exited with code ${code}`
    if (!this.#everReady && !proc.blocked && code === 1) {
      // The config did not load (the worker logged why): as without a supervisor, give up.
      this.#stopping = true
      this.#exitCode = 1
      for (const p of this.#procs) p.worker.process.kill('SIGKILL')
      if (this.#procs.size === 0) this.#done(1)
      return
    }
    if ([...this.#procs].some((p) => p.slot === proc.slot)) return // a replacement already runs
    const delay = proc.slot.backoff.next(proc.readyAt === undefined ? undefined : Date.now() - proc.readyAt)
    this.#log.error(`worker ${proc.slot.n} (pid ${proc.pid}) ${reason}; ${delay ? `restarting in ${delay} ms` : 'restarting now'}`)
    if (delay === 0) this.#fork(proc.slot)
    else proc.slot.timer = setTimeout(() => this.#fork(proc.slot), delay)
  }

  /** SIGHUP: reload one worker at a time; stop the rollout at the first that fails or blocks. */
  async #reload(): Promise<void> {
    if (this.#stopping) return
    if (this.#rolling) {
      this.#rollAgain = true
      return
    }
    this.#rolling = (async () => {
      do {
        this.#rollAgain = false
        // Workers still starting are reloaded once they serve: they may have booted from a bundle.
        const serving = [...this.#procs].filter((p) => !p.blocked && !p.replacedBy)
        for (const [i, proc] of serving.entries()) {
          if (!(await proc.ready) || this.#stopping) continue
          const result = await new Promise<'ok' | 'failed' | 'gone'>((resolve) => {
            proc.onConfig = resolve
            this.#send(proc, { sy: 'reload' })
          })
          if (result === 'ok') continue
          const rest = serving.length - i - 1
          if (rest > 0) this.#log.warn(`reload stopped at worker ${proc.slot.n}: the other ${rest} worker(s) keep the previous config`)
          break
        }
      } while (this.#rollAgain && !this.#stopping)
    })()
    await this.#rolling
    this.#rolling = undefined
  }

  #stop(signal: NodeJS.Signals): void {
    if (this.#stopping) {
      // A second signal: stop at once.
      for (const p of this.#procs) p.worker.process.kill('SIGKILL')
      process.exit(1)
    }
    this.#stopping = true
    for (const slot of this.#slots) clearTimeout(slot.timer)
    if (this.#procs.size === 0) return this.#done(this.#exitCode)
    for (const proc of this.#procs) {
      if (proc.blocked) proc.worker.process.kill('SIGKILL')
      else if (proc.readyAt === undefined) proc.worker.process.kill('SIGTERM')
      else {
        this.#send(proc, { sy: 'stop', signal })
        setTimeout(() => proc.worker.process.kill('SIGKILL'), proc.drainTimeout + 5000).unref()
      }
    }
  }
}

/**
 * Node flags for proxy workers: the supervisor's own, plus the V8 heap sizes of heap-flags.ts
 * unless the user chose them (in NODE_OPTIONS or node's flags).
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  return [...execArgv, ...workerHeapFlags(execArgv, nodeOptions)]
}

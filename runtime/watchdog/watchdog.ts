/**
 * Event-loop watchdog. The main thread bumps a counter in a SharedArrayBuffer from an
 * unref'd interval (a timer, not per-request work); a worker thread checks it and, when the
 * loop has not turned for `blockedAfter` ms, pauses the main thread through the inspector to
 * learn which code is running, logs it (mapped to proxy.config.ts:line:col) and ends the
 * process with SIGKILL — or, when supervised, hands the report to the supervisor and waits to
 * be replaced. No timeout can interrupt synchronous code; killing the process is the only way
 * back, and the supervisor (src/supervisor/) is what makes that a recovery. The thread runs at
 * a lower priority (thread-priority.ts), so booting it does not delay the first response.
 */
import { Worker } from 'node:worker_threads'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import inspector from 'node:inspector'
import { startAtLowerPriority, WATCHDOG_NICE } from './thread-priority.js'
import { HEARTBEAT, PHASE, PHASES, FORMAT, SLOTS, type Phase, type WatchdogThreadData } from './shared.js'

export interface WatchdogOptions {
  /** A loop that has not turned for this long (ms) counts as blocked. */
  blockedAfter: number
  format?: 'pretty' | 'json'
  /** Supervised: where to write the report (a pipe to the supervisor). */
  reportFd?: number
  /** Supervised: kill the process anyway if the supervisor has not within this. Default 30 s. */
  killAfterReportMs?: number
}

export interface Watchdog {
  /** Tells the watchdog what the main thread is doing (named in the report). */
  phase(phase: Phase): void
  /** How the report is logged. */
  format(format: 'pretty' | 'json'): void
  stop(): Promise<void>
}

const DISABLED: Watchdog = { phase() {}, format() {}, stop: async () => {} }

/**
 * Starts the watchdog thread; returns a no-op watchdog (and the reason) when it cannot run:
 * `blockedAfter` 0, or an inspector already open for a person (a breakpoint would look like
 * a blocked loop).
 */
export function startWatchdog(options: WatchdogOptions): { watchdog: Watchdog; disabled?: string } {
  if (!(options.blockedAfter > 0)) return { watchdog: DISABLED, disabled: 'blockedAfter is 0' }
  if (inspector.url() !== undefined) return { watchdog: DISABLED, disabled: 'the inspector is open (--inspect): a breakpoint would look like a blocked event loop' }
  const buffer = new SharedArrayBuffer(SLOTS * 4)
  const view = new Int32Array(buffer)
  // A quarter of blockedAfter: 2 wake-ups a second in each thread at the default 2 s (each
  // costs ~0.1 ms of CPU on this VM); never more often than every 25 ms.
  const tickMs = Math.max(25, Math.min(500, Math.floor(options.blockedAfter / 4)))
  const data: WatchdogThreadData = {
    buffer,
    blockedAfter: options.blockedAfter,
    tickMs,
    reportFd: options.reportFd,
    killAfterReportMs: options.killAfterReportMs ?? 30_000,
    pauseTimeoutMs: 1000,
  }
  Atomics.store(view, FORMAT, options.format === 'json' ? 1 : 0)
  const { value: thread } = startAtLowerPriority(() => new Worker(threadFile(), { workerData: data, stdout: false, stderr: false }), WATCHDOG_NICE)
  thread.unref()
  thread.on('error', () => {}) // a failed watchdog must not take the proxy down
  const beat = setInterval(() => Atomics.add(view, HEARTBEAT, 1), tickMs)
  beat.unref()
  return {
    watchdog: {
      phase: (phase) => Atomics.store(view, PHASE, PHASES.indexOf(phase)),
      format: (format) => Atomics.store(view, FORMAT, format === 'json' ? 1 : 0),
      async stop() {
        clearInterval(beat)
        await thread.terminate()
      },
    },
  }
}

/**
 * The thread's file: compiled next to this one (dist/runtime/watchdog/); seen from the CLI bundle
 * in dist/src/bundle/ (see src/cli/bin.ts); or its .ts source when running under tsx.
 */
function threadFile(): URL {
  for (const candidate of ['./watchdog-thread.js', '../../runtime/watchdog/watchdog-thread.js']) {
    const js = new URL(candidate, import.meta.url)
    if (existsSync(fileURLToPath(js))) return js
  }
  return new URL('./watchdog-thread.ts', import.meta.url)
}

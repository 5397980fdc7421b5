/** Layout of the buffer the main thread and the watchdog thread share. */

/** Int32 slots. */
export const HEARTBEAT = 0
export const PHASE = 1
/** 0 pretty, 1 json: the config's log.format may change on a reload. */
export const FORMAT = 2
export const SLOTS = 3

/** What the main thread is doing, as far as the watchdog can tell (no per-request tracking). */
export type Phase = 'serving' | 'loading' | 'reloading'
export const PHASES: readonly Phase[] = ['serving', 'loading', 'reloading']

export function describePhase(phase: Phase): string {
  return phase === 'serving' ? 'while serving requests' : phase === 'loading' ? 'while loading the config' : 'while reloading the config'
}

export interface WatchdogThreadData {
  buffer: SharedArrayBuffer
  blockedAfter: number
  tickMs: number
  /** Supervised: write the report as one JSON line to this fd, then wait to be replaced. */
  reportFd: number | undefined
  /** Supervised: kill the process anyway when it was not replaced within this. */
  killAfterReportMs: number
  /** How long to wait for the paused call stack before reporting without one. */
  pauseTimeoutMs: number
}

/** What the watchdog reports when the main thread's event loop is blocked. */
export interface BlockedReport {
  type: 'blocked'
  pid: number
  blockedMs: number
  phase: Phase
  /** First frame in user code, mapped to its source (`proxy.config.ts:12:5`), when a stack was taken. */
  at: string | undefined
  /** Function of that frame, when it has a name. */
  fn: string | undefined
  /** Mapped frames, innermost first (`spin (proxy.config.ts:12:5)`). */
  stack: string[]
  /** The one-line summary that was logged. */
  message: string
}

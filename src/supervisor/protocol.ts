/** Messages between the supervisor and its proxy workers (over the cluster IPC channel). */
import type { ConfigBundle } from '../config/bundle-config.js'

/** Supervisor → worker. */
export type ToWorker =
  /** Answer to `hello`: start from this bundle (the last one that loaded) instead of the file. */
  | { sy: 'boot'; bundle: ConfigBundle | undefined }
  | { sy: 'reload' }
  /** Drain and exit, as on the first SIGINT/SIGTERM (never counts as a second signal). */
  | { sy: 'stop'; signal: NodeJS.Signals }

/** Worker → supervisor. */
export type FromWorker =
  | { sy: 'hello' }
  /** `format`: the log format the config chose, which the supervisor's own lines follow. */
  | { sy: 'ready'; drainTimeout: number; bundle: ConfigBundle; format: 'pretty' | 'json' }
  /** After every reload, whatever triggered it (SIGHUP from the supervisor, or the dev watcher). */
  | { sy: 'config'; ok: boolean; bundle: ConfigBundle | undefined }

/** The worker's pipe for watchdog reports (the IPC channel belongs to the blocked main thread). */
export const REPORT_FD = 4
/** Set in a worker's environment: its slot number (1-based). */
export const WORKER_ENV = 'SWITCHYARD_WORKER'

export function isFromWorker(m: unknown): m is FromWorker {
  return typeof m === 'object' && m !== null && typeof (m as { sy?: unknown }).sy === 'string'
}

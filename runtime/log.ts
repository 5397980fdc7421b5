/** What the data plane reports. The CLI supplies a pretty or JSON implementation. */
import type { LogRecord } from '../src/config/hooks.js'

/** The hooks' LogRecord (method, target, status, route, upstream, duration, bytes, client, error) plus the Host. */
export interface AccessRecord extends LogRecord {
  host: string
}

export interface RuntimeLog {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  access(record: AccessRecord): void
}

export const silentLog: RuntimeLog = { info() {}, warn() {}, error() {}, access() {} }

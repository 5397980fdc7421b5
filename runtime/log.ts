/** What the data plane reports. The CLI supplies a pretty or JSON implementation. */

export interface AccessRecord {
  method: string
  /** Path and query as received (canonical path + query). */
  target: string
  host: string
  status: number
  route: string | undefined
  /** Origin of the upstream server that answered, when one did. */
  upstream: string | undefined
  durationMs: number
  bytes: number
  clientIp: string
  /** Why the request failed, when it did (also logged at error level). */
  error: string | undefined
}

export interface RuntimeLog {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
  access(record: AccessRecord): void
}

export const silentLog: RuntimeLog = { info() {}, warn() {}, error() {}, access() {} }

/** What the data plane reports. The CLI supplies a pretty or JSON implementation. */
import type { LogRecord, RequestLog } from '../src/config/hooks.js'
import type { RequestContext } from './context.js'

/** The hooks' LogRecord (method, target, status, route, upstream, duration, bytes, client, error, annotations) plus the Host. */
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

/**
 * `ctx.log` of hooks and handlers: the runtime's log, each record carrying the request's route,
 * method, target and (once the requestId middleware set it) request id — read at each call, so
 * a logger taken early still names the id set later. Built only when a hook or handler asks.
 */
export class RequestLogger implements RequestLog {
  constructor(readonly ctx: RequestContext, readonly log: RuntimeLog) {}

  info(message: string, fields?: Record<string, unknown>): void {
    this.log.info(message, this.#fields(fields))
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.log.warn(message, this.#fields(fields))
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.log.error(message, this.#fields(fields))
  }

  /** The caller's fields, then the request's: a field named `route`, `method`, `target` or `requestId` cannot pass for the request's own. */
  #fields(extra: Record<string, unknown> | undefined): Record<string, unknown> {
    const ctx = this.ctx
    const requestId = ctx.hooks?.state.requestId
    const own = { route: ctx.route?.name, method: ctx.method, target: ctx.target }
    // Listed first (read first), assigned again last (they win).
    const fields: Record<string, unknown> = Object.assign({ ...own, ...extra }, own)
    if (typeof requestId === 'string') fields.requestId = requestId
    return fields
  }
}

/** `ctx.annotate(fields)`: merged into the request's access record (created on first use). */
export function annotate(ctx: RequestContext, fields: Record<string, unknown>): void {
  if (fields === null || typeof fields !== 'object') throw new TypeError(`ctx.annotate: expected an object of fields, got ${fields === null ? 'null' : typeof fields}`)
  ctx.annotations = Object.assign(ctx.annotations ?? {}, fields)
}

/**
 * `timeout()`: a total deadline for the request (`ctx.setDeadline`): past it the client gets
 * `504` if nothing was sent yet, otherwise the response is aborted. Several deadlines: the
 * earliest wins (so a route's `timeout` can only shorten a global one).
 *
 * ```ts
 * import { timeout } from 'switchyard/middleware'
 * use: [timeout({ total: '10s' })]
 * ```
 */
import type { Middleware } from '../config/hooks.js'
import { durationOption } from './util.js'

export interface TimeoutOptions {
  /** Milliseconds or a string with a unit ('10s'). */
  total: number | string
}

export function timeout(options: TimeoutOptions): Middleware {
  const ms = durationOption(options.total, 'timeout(): total')
  return { name: 'timeout', onRequest: (ctx) => ctx.setDeadline(ms) }
}

/** Whether a probe's answer passes the check's expectations (status table, body substring or RegExp). */
import type { ResolvedHealthCheck } from '../upstream/upstream-settings.js'

/** Bytes of a probe body looked at for `expectBody`. */
export const MAX_PROBE_BODY = 64 * 1024

/** '' when the status passes, else the reason it fails. */
export function checkStatus(settings: ResolvedHealthCheck, status: number): string {
  return status >= 0 && status < 600 && settings.expectStatus[status] === 1 ? '' : `status ${status} (expected ${settings.expectStatusText})`
}

/** '' when the body passes, else the reason it fails. */
export function checkBody(settings: ResolvedHealthCheck, body: string): string {
  const want = settings.expectBody
  if (want === undefined) return ''
  if (typeof want === 'string') return body.includes(want) ? '' : `body does not contain ${JSON.stringify(want)}`
  return want.test(body) ? '' : `body does not match ${want}`
}

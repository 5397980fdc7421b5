/**
 * Active HTTP health check of one server: a probe every `interval` (±10% jitter, so the
 * probes of many servers do not fire together), through a one-connection upstream pool of its
 * own (probes never queue behind traffic in the group's pool, and a probe's connect tests the
 * server's accept path as a new client would). `unhealthyAfter` failures in a row take the
 * server out, `healthyAfter` passes in a row bring it back. Timers and the idle probe
 * connection are unref'd.
 */
import { UpstreamPool } from '../upstream-client/pool.js'
import type { UpstreamHandler } from '../upstream-client/types.js'
import type { ResolvedHealthCheck } from '../upstream/upstream-settings.js'
import { classifyUpstreamError } from '../forward/upstream-error.js'
import type { HealthCheck, HealthTransition } from './health-check.js'
import { checkBody, checkStatus, MAX_PROBE_BODY } from './expect.js'

export class HttpHealthCheck implements HealthCheck {
  healthy = true
  reason = ''
  probes = 0
  #passes = 0
  #fails = 0
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  readonly #pool: UpstreamPool
  readonly #headers: string[]
  #inflight: Probe | undefined

  constructor(
    readonly origin: string,
    readonly settings: ResolvedHealthCheck,
    readonly onTransition: HealthTransition,
  ) {
    this.#pool = new UpstreamPool(origin, {
      connections: 1,
      connectTimeout: settings.timeout,
      headersTimeout: settings.timeout,
      bodyTimeout: settings.timeout,
      keepAliveTimeout: Math.max(1000, settings.interval * 2),
    })
    this.#headers = ['user-agent', 'switchyard-health-check']
    for (const [n, v] of settings.headers) this.#headers.push(n, v)
  }

  start(): void {
    // First probe soon (spread over up to 10% of the interval), not a whole interval later.
    this.#schedule(Math.random() * Math.min(this.settings.interval * 0.1, 1000))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#inflight?.cancel()
    await this.#pool.destroy()
  }

  #schedule(delay: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => void this.#probe(), delay)
    this.#timer.unref()
  }

  async #probe(): Promise<void> {
    const s = this.settings
    const probe = new Probe(s.expectBody !== undefined)
    this.#inflight = probe
    const deadline = setTimeout(() => probe.timeOut(), s.timeout)
    deadline.unref()
    let failure: string
    try {
      this.#pool.dispatch({ path: s.path, method: s.method, headers: this.#headers, body: null }, probe)
      const { status, body } = await probe.result
      failure = checkStatus(s, status)
      if (failure === '' && s.expectBody !== undefined) failure = checkBody(s, body.toString('utf8'))
    } catch (err) {
      failure = probe.timedOut && !this.#stopped
        ? `no answer within ${s.timeout}ms`
        : classifyUpstreamError(err).reason.replace(/^upstream /, '')
    } finally {
      clearTimeout(deadline)
      this.#inflight = undefined
    }
    if (this.#stopped) return
    this.probes++
    this.#record(failure)
    this.#schedule(s.interval * (0.9 + Math.random() * 0.2))
  }

  #record(failure: string): void {
    const s = this.settings
    this.reason = failure === '' ? `${s.method} ${s.path} passed` : failure
    if (failure === '') {
      this.#fails = 0
      if (++this.#passes >= s.healthyAfter && !this.healthy) {
        this.healthy = true
        this.onTransition(this, true, `${this.#passes} probe(s) passed`)
      }
    } else {
      this.#passes = 0
      if (++this.#fails >= s.unhealthyAfter && this.healthy) {
        this.healthy = false
        this.onTransition(this, false, `${failure} (${this.#fails} probe(s) failed)`)
      }
    }
  }
}

const NO_BODY = Buffer.alloc(0)

/**
 * One probe's exchange: the status and, when `keepBody` (the check has an `expectBody`), the
 * first MAX_PROBE_BODY bytes of the body. Without it the body is read and dropped, so the probe
 * connection is reused as before. Either way a body past MAX_PROBE_BODY ends the probe there.
 */
class Probe implements UpstreamHandler {
  readonly result: Promise<{ status: number; body: Buffer }>
  timedOut = false
  #resolve!: (value: { status: number; body: Buffer }) => void
  #reject!: (err: Error) => void
  #abort: ((err?: Error) => void) | undefined
  #status = 0
  #chunks: Buffer[] = []
  #size = 0
  #settled = false

  constructor(readonly keepBody: boolean) {
    this.result = new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
  }

  timeOut(): void {
    this.timedOut = true
    this.#abort?.(new Error('probe timeout'))
  }

  cancel(): void {
    this.#abort?.(new Error('health check stopped'))
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort
  }

  onHeaders(status: number): boolean {
    this.#status = status
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.#settled) return true
    if (this.keepBody) this.#chunks.push(chunk)
    this.#size += chunk.length
    if (this.#size >= MAX_PROBE_BODY) {
      this.#settle() // enough to judge: stop reading (the probe connection closes)
      this.#abort?.(new Error('probe body limit'))
    }
    return true
  }

  onComplete(): void {
    this.#settle()
  }

  onError(err: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#reject(err)
  }

  #settle(): void {
    if (this.#settled) return
    this.#settled = true
    const body = this.keepBody ? Buffer.concat(this.#chunks).subarray(0, MAX_PROBE_BODY) : NO_BODY
    this.#resolve({ status: this.#status, body })
  }
}

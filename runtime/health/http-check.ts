/**
 * Active HTTP health check of one server: a probe every `interval` (±10% jitter, so the
 * probes of many servers do not fire together), through a small undici Client of its own
 * (probes never queue behind traffic in the group's pool, and a probe's connect tests the
 * server's accept path as a new client would). `unhealthyAfter` failures in a row take the
 * server out, `healthyAfter` passes in a row bring it back. Timers are unref'd.
 */
import { Client } from 'undici'
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
  #client: Client
  #inflight: AbortController | undefined

  constructor(
    readonly origin: string,
    readonly settings: ResolvedHealthCheck,
    readonly onTransition: HealthTransition,
  ) {
    this.#client = new Client(origin, {
      connectTimeout: settings.timeout,
      headersTimeout: settings.timeout,
      bodyTimeout: settings.timeout,
      keepAliveTimeout: Math.max(1000, settings.interval * 2),
      pipelining: 1,
    })
  }

  start(): void {
    // First probe soon (spread over up to 10% of the interval), not a whole interval later.
    this.#schedule(Math.random() * Math.min(this.settings.interval * 0.1, 1000))
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#inflight?.abort()
    await this.#client.destroy().catch(() => {})
  }

  #schedule(delay: number): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => void this.#probe(), delay)
    this.#timer.unref()
  }

  async #probe(): Promise<void> {
    const s = this.settings
    const controller = new AbortController()
    this.#inflight = controller
    const deadline = setTimeout(() => controller.abort(new Error(`probe timeout after ${s.timeout}ms`)), s.timeout)
    deadline.unref()
    let failure: string
    try {
      const headers: Record<string, string> = { 'user-agent': 'switchyard-health-check' }
      for (const [n, v] of s.headers) headers[n] = v
      const res = await this.#client.request({ path: s.path, method: s.method, headers, signal: controller.signal })
      failure = checkStatus(s, res.statusCode)
      if (failure === '' && s.expectBody !== undefined) failure = checkBody(s, await readSome(res.body))
      else await res.body.dump({ limit: MAX_PROBE_BODY }).catch(() => {})
    } catch (err) {
      failure = controller.signal.aborted && !this.#stopped
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

async function readSome(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    chunks.push(chunk)
    size += chunk.length
    if (size >= MAX_PROBE_BODY) {
      body.destroy()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, MAX_PROBE_BODY).toString('utf8')
}

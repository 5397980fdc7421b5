/**
 * Live state of one upstream server. It lives in a registry keyed by the server's origin,
 * so it survives config reloads while the server stays in the config (ARCHITECTURE.md:
 * long-lived state is looked up by the new Generation, not rebuilt).
 *
 * What the forwarder reports, per attempt (a retry is a new attempt, maybe on another server):
 * - when the request is handed to the server's pool: `inflight++`, `requests++`, and keep
 *   `sentAt = performance.now()`;
 * - when the response headers arrive (any status, 5xx included: they are answers):
 *   `const now = performance.now(); recordLatency(now - sentAt, now)`;
 * - on a response-headers timeout: `recordLatency(now - sentAt, now)` too (a slow server must
 *   look slow); on a connection error or reset before headers: no latency sample (a server
 *   that fails fast must not look fast; counting failures is passive health's business);
 * - when the attempt ends (body fully sent to the client, or aborted, or failed): `inflight--`,
 *   exactly once.
 */
export class ServerState {
  /** Requests sent to this server and not yet finished. */
  inflight = 0
  /** Requests ever sent (monotonic). */
  requests = 0
  /** Requests that ended in a connection error, timeout or upstream failure. */
  failures = 0
  /** Passive health (runtime/health/passive.ts), in performance.now() ms. */
  windowFails = 0
  failWindowEnd = 0
  /** Out of rotation until then (0: never ejected). */
  ejectedUntil = 0
  /** Times passive health took the server out (monotonic). */
  ejections = 0
  /**
   * Time constant (ms) of the latency estimate: how fast old samples are forgotten and how
   * fast an idle server's estimate decays. The p2c balancer sets it from its `decay` option
   * (when the same server is in several p2c groups with different decays, the last built wins).
   */
  latencyDecayMs = 10_000
  /** Latency samples recorded so far (monotonic); 0 means "never measured". */
  latencySamples = 0
  /** Estimate (ms) as of `#latencyStamp`, before any decay since then. */
  #latency = 0
  #latencyStamp = 0

  constructor(readonly origin: string) {}

  /**
   * Records one latency sample: `ms` from sending the request to receiving the response
   * headers, observed at `now` (ms on the same monotonic clock the balancer reads,
   * `performance.now()`). Peak EWMA (Finagle/Linkerd): a sample above the estimate replaces it
   * at once, so a server that turns slow is avoided from its first slow response; a lower
   * sample pulls the estimate down with time constant `latencyDecayMs`, weighted by the time
   * since the previous sample, so the rate of requests does not change the memory.
   */
  recordLatency(ms: number, now: number): void {
    if (!(ms >= 0) || ms === Infinity) return // NaN, negative or infinite: a caller bug, not a sample
    if (this.latencySamples === 0 || ms > this.#latency) {
      this.#latency = ms
    } else {
      const elapsed = now > this.#latencyStamp ? now - this.#latencyStamp : 0
      const keep = Math.exp(-elapsed / this.latencyDecayMs)
      this.#latency = this.#latency * keep + ms * (1 - keep)
    }
    this.#latencyStamp = now
    this.latencySamples++
  }

  /**
   * The latency estimate (ms) at `now`; 0 when never measured. Between samples it decays
   * toward 0 with time constant `latencyDecayMs`, so a server that was avoided for being slow
   * is eventually tried again and re-measured instead of being shunned forever.
   */
  peakEwma(now: number): number {
    if (this.latencySamples === 0) return 0
    const elapsed = now > this.#latencyStamp ? now - this.#latencyStamp : 0
    return this.#latency * Math.exp(-elapsed / this.latencyDecayMs)
  }
}

export class ServerStateRegistry {
  readonly #states = new Map<string, ServerState>()

  get(origin: string): ServerState {
    let state = this.#states.get(origin)
    if (state === undefined) {
      state = new ServerState(origin)
      this.#states.set(origin, state)
    }
    return state
  }

  /** Forget servers no longer in any config. */
  retain(origins: ReadonlySet<string>): void {
    for (const origin of this.#states.keys()) if (!origins.has(origin)) this.#states.delete(origin)
  }
}

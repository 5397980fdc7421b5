/**
 * Live state of one upstream server. It lives in a registry keyed by the server's origin,
 * so it survives config reloads while the server stays in the config (ARCHITECTURE.md:
 * long-lived state is looked up by the new Generation, not rebuilt).
 */
export class ServerState {
  /** Requests sent to this server and not yet finished. */
  inflight = 0
  /** Requests ever sent (monotonic). */
  requests = 0
  /** Requests that ended in a connection error, timeout or upstream failure. */
  failures = 0

  constructor(readonly origin: string) {}
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

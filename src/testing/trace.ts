/**
 * The decision trace of one request as the test kit returns it: the runtime's events
 * (runtime/trace.ts) with finders for assertions and a one-line-per-event `toString()`.
 */
import {
  formatEvent,
  type TraceEvent, type RouteTraceEvent, type NoRouteTraceEvent, type BalancerTraceEvent, type AttemptTraceEvent,
  type CacheTraceEvent, type HookTraceEvent, type ErrorTraceEvent, type EndTraceEvent,
} from '../../runtime/trace.js'

export type {
  TraceEvent, RouteTraceEvent, NoRouteTraceEvent, BalancerTraceEvent, AttemptTraceEvent, CacheTraceEvent,
  HookTraceEvent, ErrorTraceEvent, EndTraceEvent,
}

type EventOf<T extends TraceEvent['type']> = Extract<TraceEvent, { type: T }>

export class Trace {
  readonly #names: ReadonlyMap<string, string>

  /** `names`: server origin → a name to show in toString() (the kit passes its mocks' names). */
  constructor(readonly events: readonly TraceEvent[], names: ReadonlyMap<string, string> = new Map()) {
    this.#names = names
  }

  #label = (server: string): string => {
    const name = this.#names.get(server)
    return name === undefined ? server : `${name} (${server.replace('http://', '')})`
  }

  /** The name the kit knows a server by (a mock's name), else its origin. */
  nameOf(server: string | undefined): string | undefined {
    return server === undefined ? undefined : this.#names.get(server) ?? server
  }

  /** Every event of one type, in order. */
  all<T extends TraceEvent['type']>(type: T): Array<EventOf<T>> {
    return this.events.filter((e): e is EventOf<T> => e.type === type)
  }

  /** The route that matched (undefined: none did, see `noRoute`, or the request was refused before routing). */
  get route(): RouteTraceEvent | undefined {
    return this.all('route')[0]
  }

  get noRoute(): NoRouteTraceEvent | undefined {
    return this.all('no-route')[0]
  }

  /** The balancer's picks for the request itself: the first attempt's, then one per retry. */
  get picks(): BalancerTraceEvent[] {
    return this.all('balancer').filter((e) => !e.side)
  }

  /** Picks and attempts of side requests (a hook's `ctx.forward`, e.g. mirror's copies). */
  get sideRequests(): Array<BalancerTraceEvent | AttemptTraceEvent> {
    return this.events.filter((e): e is BalancerTraceEvent | AttemptTraceEvent => (e.type === 'balancer' || e.type === 'attempt') && e.side === true)
  }

  /** The first pick (most requests have only this one). */
  get balancer(): BalancerTraceEvent | undefined {
    return this.picks[0]
  }

  /** Attempts of the request itself (side requests: see `sideRequests`). */
  get attempts(): AttemptTraceEvent[] {
    return this.all('attempt').filter((e) => !e.side)
  }

  /** Attempts that were followed by another one. */
  get retries(): number {
    return this.attempts.filter((a) => a.retry !== undefined).length
  }

  get cache(): CacheTraceEvent | undefined {
    return this.all('cache')[0]
  }

  get hooks(): HookTraceEvent[] {
    return this.all('hook')
  }

  /** Hooks of one phase, as `middleware: result` strings (handy for deepEqual). */
  hooksIn(phase: string): string[] {
    return this.hooks.filter((h) => h.phase === phase).map((h) => `${h.middleware}: ${h.result}`)
  }

  get errors(): ErrorTraceEvent[] {
    return this.all('error')
  }

  get end(): EndTraceEvent | undefined {
    return this.all('end')[0]
  }

  /** The server that produced the response (the last attempt's), if any. */
  get upstream(): string | undefined {
    return this.end?.upstream ?? this.attempts.at(-1)?.server
  }

  /** The name of the server that answered (a mock's name as in toString()), else its origin. */
  get servedBy(): string | undefined {
    return this.nameOf(this.upstream)
  }

  /** One line per event. */
  toString(): string {
    return this.events.map((e) => formatEvent(e, this.#label)).join('\n')
  }

  /** Same as toString(), indented: for `t.diagnostic(trace.describe())` or a failing assertion's message. */
  describe(indent = '  '): string {
    return this.events.map((e) => indent + formatEvent(e, this.#label)).join('\n')
  }

  toJSON(): readonly TraceEvent[] {
    return this.events
  }
}

/**
 * A named group of servers as the data plane uses it: members, their pools, the balancer,
 * and the health filter in front of the balancer (ARCHITECTURE.md: health is applied before
 * `pick`, never inside it).
 *
 * Candidates = members not `down`, not ejected by passive health, not unhealthy by an active
 * check, not at `maxConns`; backups only when no primary qualifies. The available list is
 * cached and rebuilt only when `healthEpoch` moved or a time-based change is due (an ejection
 * expiring, a slow-start step), so the common case costs one compare and allocates nothing.
 */
import type { UpstreamPool } from '../upstream-client/pool.js'
import type { ResolvedUpstream } from '../resolved-config.js'
import type { Balancer, PickContext, UpstreamMember } from '../balancer/balancer.js'
import { createBalancer } from '../balancer/create-balancer.js'
import { fnv1a } from '../balancer/hash-key.js'
import type { ServerState, ServerStateRegistry } from './server-state.js'
import { PoolRegistry, poolKey } from '../forward/pool-registry.js'
import type { HealthCheck } from '../health/health-check.js'
import { healthKey, type HealthRegistry } from '../health/health-registry.js'
import { healthEpoch } from '../health/health-epoch.js'
import type { ResolvedPassive, ResolvedQueue, ResolvedRetry, ResolvedSticky } from './upstream-settings.js'
import { RetryBudget } from './retry-budget.js'

/** What the group needs of a request: the balancer's view plus the time it arrived. */
export interface GroupPickContext extends PickContext {
  /** performance.now() when the request arrived (the clock passive health and p2c use). */
  readonly startTime: number
}

/** Slow start begins at this share of the weight. */
const SLOW_START_FLOOR = 0.1
/** Effective weights are recomputed this many times over a slow start. */
const SLOW_START_STEPS = 20

export class GroupMember implements UpstreamMember {
  /** Effective weight: the configured one, scaled down during slow start. */
  weight: number
  readonly configWeight: number
  readonly backup: boolean
  readonly down: boolean
  /** 0 = unlimited. */
  readonly maxConns: number
  readonly slowStart: number
  /** `host:port` of the server, for `host: 'upstream'` and as the fallback Host. */
  readonly hostHeader: string
  /** Opaque sticky-cookie value naming this server (a short hash, never the address). */
  readonly stickyId: string
  /** `Set-Cookie` value sent when a client is (re)assigned to this server. */
  stickyCookie = ''
  health: HealthCheck | undefined
  /** Whether it was a candidate at the last rebuild; performance.now() it came back at. */
  wasAvailable = true
  rampFrom = 0

  constructor(
    readonly origin: string,
    readonly index: number,
    readonly state: ServerState,
    readonly pool: UpstreamPool,
    server: ResolvedUpstream['servers'][number],
  ) {
    this.weight = this.configWeight = server.weight
    this.backup = server.backup === true
    this.down = server.down === true
    this.maxConns = server.maxConns ?? 0
    this.slowStart = server.slowStart ?? 0
    this.hostHeader = new URL(origin).host
    this.stickyId = fnv1a(origin).toString(36)
  }

  get full(): boolean {
    return this.maxConns > 0 && this.state.inflight >= this.maxConns
  }
}

interface Waiter { run(): void; cancel(): void }

export class UpstreamGroup {
  readonly members: readonly GroupMember[]
  readonly balancer: Balancer
  readonly poolKeys: string[]
  /** Keys of the active health checks this group uses (see HealthRegistry). */
  readonly healthKeys: string[] = []
  /** Where this group's checks live, when it has any (the forwarder hands it the request log). */
  readonly healthRegistry: HealthRegistry | undefined
  readonly retry: ResolvedRetry | undefined
  readonly passive: ResolvedPassive | undefined
  readonly sticky: ResolvedSticky | undefined
  readonly queue: ResolvedQueue
  readonly budget: RetryBudget | undefined
  /** Some server has maxConns: the per-pick "full" filter and the queue are on. */
  readonly limited: boolean
  /** The balancer reads latency (p2c): the forwarder measures it. */
  readonly measuresLatency: boolean
  /** Sticky id → member. */
  readonly #byStickyId = new Map<string, GroupMember>()
  #primaries: GroupMember[] = []
  #backups: GroupMember[] = []
  /** The list handed to the balancer: available primaries, or available backups when none. */
  #candidates: GroupMember[] = []
  #epoch = -1
  #recheckAt = 0
  #clock = 0
  readonly #waiting: Waiter[] = []

  constructor(readonly config: ResolvedUpstream, states: ServerStateRegistry, pools: PoolRegistry) {
    this.members = config.servers.map((server, index) =>
      new GroupMember(server.origin, index, states.get(server.origin), pools.get(server.origin, config), server))
    this.poolKeys = config.servers.map((s) => poolKey(s.origin, config))
    this.retry = config.retry
    this.passive = config.passive && config.passive.maxFails > 0 ? config.passive : undefined
    this.sticky = config.sticky
    this.queue = config.queue ?? { size: 100, timeout: 5000 }
    this.limited = this.members.some((m) => m.maxConns > 0)
    const budget = this.retry?.budget
    this.budget = budget && this.retry!.tries > 1 ? new RetryBudget(budget.ratio, budget.minPerSecond) : undefined
    const spec = config.balance ?? 'round-robin'
    this.measuresLatency = spec === 'p2c' || (typeof spec === 'object' && spec.policy === 'p2c')
    // p2c reads the time the request arrived (already taken) instead of calling the clock again.
    this.balancer = createBalancer(spec, { now: () => this.#clock })
    this.balancer.update?.(this.members)
    this.healthRegistry = config.health ? pools.health : undefined
    if (config.health) {
      for (const m of this.members) {
        if (m.down) continue
        m.health = pools.health.acquire(m.origin, config.health, config.name)
        this.healthKeys.push(healthKey(m.origin, config.health))
      }
    }
    if (this.sticky) {
      for (const m of this.members) {
        let id = m.stickyId
        while (this.#byStickyId.has(id)) id += m.index.toString(36) // hash collision in this group
        ;(m as { stickyId: string }).stickyId = id
        this.#byStickyId.set(id, m)
        m.stickyCookie = stickyCookie(this.sticky, id)
      }
    }
    this.#rebuild(performance.now())
  }

  get name(): string {
    return this.config.name
  }

  /** The servers the last pick chose among (the decision trace reads it). */
  get candidates(): readonly GroupMember[] {
    return this.#candidates
  }

  /**
   * The server for this request, or undefined when none is available (see `saturated` for
   * "all full": the request may queue). A sticky cookie naming an available server wins.
   */
  pick(ctx: GroupPickContext): GroupMember | undefined {
    const now = ctx.startTime
    if (this.#epoch !== healthEpoch.value || now >= this.#recheckAt) this.#rebuild(now)
    let candidates = this.#candidates
    if (this.limited) candidates = this.#notFull()
    if (this.sticky) {
      const chosen = this.stickyMember(ctx)
      if (chosen !== undefined && candidates.includes(chosen)) return chosen
    }
    this.#clock = now
    return this.balancer.pick(candidates, ctx) as GroupMember | undefined
  }

  /** For a retry: a candidate not in `tried` (no stickiness), or undefined. */
  pickExcluding(ctx: GroupPickContext, tried: readonly GroupMember[]): GroupMember | undefined {
    const now = performance.now()
    if (this.#epoch !== healthEpoch.value || now >= this.#recheckAt) this.#rebuild(now)
    const base = this.limited ? this.#notFull() : this.#candidates
    let candidates = base.filter((m) => !tried.includes(m))
    // Primaries all tried: a backup is a different server too.
    if (candidates.length === 0 && base === this.#primaries) candidates = this.#backups.filter((m) => !m.full && !tried.includes(m))
    this.#clock = now
    return this.balancer.pick(candidates, ctx) as GroupMember | undefined
  }

  /** After a failed pick: true when servers are available but all at maxConns (queue), false when none is. */
  saturated(): boolean {
    return this.limited && (this.#primaries.length > 0 || this.#backups.length > 0)
  }

  /** The member a request's sticky cookie names, if any (whatever its health). */
  stickyMember(ctx: PickContext): GroupMember | undefined {
    const value = cookieValue(ctx.header('cookie'), this.sticky!.cookie)
    return value === undefined ? undefined : this.#byStickyId.get(value)
  }

  /** Requests waiting for a server below maxConns. */
  get queued(): number {
    return this.#waiting.length
  }

  /** Queues a request until a server has room; false when the queue is full. */
  enqueue(waiter: Waiter): boolean {
    if (this.#waiting.length >= this.queue.size) return false
    this.#waiting.push(waiter)
    return true
  }

  dequeue(waiter: Waiter): void {
    const i = this.#waiting.indexOf(waiter)
    if (i >= 0) this.#waiting.splice(i, 1)
  }

  /** An attempt on a member of this (limited) group ended: hand its slot to a waiter. */
  release(): void {
    while (this.#waiting.length > 0) {
      if (this.#notFull().length === 0) return
      const waiter = this.#waiting.shift()!
      waiter.cancel()
      waiter.run()
    }
  }

  #notFull(): GroupMember[] {
    const primaries = this.#candidates
    let full = 0
    for (let i = 0; i < primaries.length; i++) if (primaries[i]!.full) full++
    if (full === 0) return primaries
    if (full < primaries.length) return primaries.filter((m) => !m.full)
    // Every primary is full: backups count as available (nginx: max_conns makes a server unavailable).
    return primaries === this.#primaries ? this.#backups.filter((m) => !m.full) : []
  }

  #rebuild(now: number): void {
    this.#epoch = healthEpoch.value
    let recheck = Infinity
    let weightsChanged = false
    const primaries: GroupMember[] = []
    const backups: GroupMember[] = []
    for (const m of this.members) {
      let available = !m.down && m.health?.healthy !== false
      if (available && this.passive && m.state.ejectedUntil > now) {
        available = false
        if (m.state.ejectedUntil < recheck) recheck = m.state.ejectedUntil
      }
      if (available && !m.wasAvailable && m.slowStart > 0) m.rampFrom = now
      m.wasAvailable = available
      if (!available) continue
      let weight = m.configWeight
      if (m.slowStart > 0 && m.rampFrom > 0 && now < m.rampFrom + m.slowStart) {
        weight = m.configWeight * Math.max(SLOW_START_FLOOR, (now - m.rampFrom) / m.slowStart)
        recheck = Math.min(recheck, now + m.slowStart / SLOW_START_STEPS)
      }
      if (weight !== m.weight) {
        m.weight = weight
        weightsChanged = true
      }
      ;(m.backup ? backups : primaries).push(m)
    }
    if (weightsChanged) this.balancer.update?.(this.members)
    this.#primaries = primaries
    this.#backups = backups
    this.#candidates = primaries.length > 0 ? primaries : backups
    this.#recheckAt = recheck
  }
}

function stickyCookie(s: ResolvedSticky, id: string): string {
  let cookie = `${s.cookie}=${id}; Path=${s.path}`
  if (s.maxAge > 0) cookie += `; Max-Age=${s.maxAge}`
  if (s.httpOnly) cookie += '; HttpOnly'
  if (s.secure || s.sameSite === 'None') cookie += '; Secure'
  return `${cookie}; SameSite=${s.sameSite}`
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let i = 0
  while (i < header.length) {
    while (header.charCodeAt(i) === 32) i++
    let end = header.indexOf(';', i)
    if (end < 0) end = header.length
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === 61) return header.slice(i + name.length + 1, end).trim()
    i = end + 1
  }
  return undefined
}

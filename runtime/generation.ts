/**
 * An immutable snapshot of everything built from one config: router and upstream groups.
 * A request captures the current Generation when it starts and finishes on it; a reload
 * builds a new one and swaps one reference. Long-lived state (pools, server counters) is
 * looked up from registries, not rebuilt.
 */
import type { ResolvedConfig } from './resolved-config.js'
import { Router } from './router/router.js'
import { buildRouteHooks, type RouteHooks } from './pipeline/route-hooks.js'
import { UpstreamGroup } from './upstream/upstream-group.js'
import type { ServerStateRegistry } from './upstream/server-state.js'
import type { PoolRegistry } from './forward/pool-registry.js'
import type { Middleware } from '../src/config/hooks.js'
import { silentLog, type RuntimeLog } from './log.js'

export class Generation {
  readonly router: Router
  readonly groups = new Map<string, UpstreamGroup>()
  /** Per route (by index): its hooks in running order, or undefined when it has none. */
  readonly routeHooks: ReadonlyArray<RouteHooks | undefined>
  readonly createdAt = Date.now()
  /** Middleware of this config that hold resources (`close()`), each once: closed when it retires. */
  readonly closers: ReadonlyArray<Middleware>

  constructor(
    readonly id: number, readonly config: ResolvedConfig, states: ServerStateRegistry, pools: PoolRegistry,
    /** The runtime's log, for what requests report on their own (ctx.log, body timeouts). */
    readonly log: RuntimeLog = silentLog,
  ) {
    this.router = new Router(config.routes)
    this.routeHooks = config.routes.map((route) => buildRouteHooks([...config.layers, ...route.layers]))
    const closers = new Set<Middleware>()
    for (const layer of [...config.layers, ...config.routes.flatMap((r) => r.layers)]) {
      if (typeof layer.close === 'function') closers.add(layer)
    }
    this.closers = [...closers]
    for (const [name, upstream] of config.upstreams) this.groups.set(name, new UpstreamGroup(upstream, states, pools))
  }

  /**
   * Pool keys and server origins this Generation uses, so registries can drop the rest.
   * `poolKeys` also holds the keys of the active health checks in use (`health|…`): the
   * Runtime passes them to PoolRegistry.retain, which stops the checks nobody uses.
   */
  usage(): { poolKeys: Set<string>; origins: Set<string> } {
    const poolKeys = new Set<string>()
    const origins = new Set<string>()
    for (const group of this.groups.values()) {
      for (const key of group.poolKeys) poolKeys.add(key)
      for (const key of group.healthKeys) poolKeys.add(key)
      for (const m of group.members) origins.add(m.origin)
    }
    return { poolKeys, origins }
  }
}

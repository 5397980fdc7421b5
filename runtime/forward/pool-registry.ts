/**
 * Upstream connection pools (runtime/upstream-client) keyed by server origin + pool settings. A reload looks pools up here, so an
 * unchanged server keeps its warm keep-alive connections; pools no Generation uses any
 * more are closed gracefully (queued requests finish first).
 */
import { UpstreamPool } from '../upstream-client/pool.js'
import type { ResolvedUpstream } from '../resolved-config.js'
import { HealthRegistry } from '../health/health-registry.js'

export class PoolRegistry {
  readonly #pools = new Map<string, UpstreamPool>()
  /**
   * Active health checks. They live here because the Runtime already hands this registry to
   * every Generation, calls `retain` with the keys its Generations use (health keys ride
   * along, see Generation.usage) and `closeAll` on close.
   */
  readonly health = new HealthRegistry()

  get(origin: string, upstream: ResolvedUpstream): UpstreamPool {
    const key = poolKey(origin, upstream)
    let pool = this.#pools.get(key)
    if (pool === undefined) {
      const { keepAlive, timeouts } = upstream
      pool = new UpstreamPool(origin, {
        connections: keepAlive.connections,
        keepAliveTimeout: keepAlive.idleTimeout,
        keepAliveMaxTimeout: keepAlive.maxIdleTimeout,
        maxRequestsPerClient: keepAlive.maxRequestsPerConnection,
        connectTimeout: timeouts.connect,
        headersTimeout: timeouts.responseHeaders,
        bodyTimeout: timeouts.bodyIdle,
        // Response heads are limited like nginx's proxy_buffer_size-ish defaults, generously.
        maxHeaderSize: 64 * 1024,
      })
      this.#pools.set(key, pool)
    }
    return pool
  }

  /** Close every pool (and stop every health check) whose key is not in `keep`. */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    const closing: Promise<void>[] = [this.health.retain(keep)]
    for (const [key, pool] of this.#pools) {
      if (keep.has(key)) continue
      this.#pools.delete(key)
      closing.push(pool.close().catch(() => {}))
    }
    await Promise.all(closing)
  }

  async closeAll(force = false): Promise<void> {
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    await Promise.all([this.health.close(), ...pools.map((p) => (force ? p.destroy() : p.close()).catch(() => {}))])
  }
}

export function poolKey(origin: string, upstream: ResolvedUpstream): string {
  const { keepAlive: k, timeouts: t } = upstream
  return `${origin}|${k.connections}|${k.idleTimeout}|${k.maxIdleTimeout}|${k.maxRequestsPerConnection}|${t.connect}|${t.responseHeaders}|${t.bodyIdle}`
}

/**
 * Active health checks keyed by server origin + check settings, so a reload that keeps a
 * server and its `health` options keeps its check (state, counters, timer) instead of starting
 * over; a check no Generation uses any more is stopped (`retain`, from the Runtime's collect
 * via PoolRegistry). Transitions are logged as
 * `server http://… of upstream 'api': healthy → unhealthy (status 500 …)`.
 */
import type { ResolvedHealthCheck } from '../upstream/upstream-settings.js'
import { silentLog, type RuntimeLog } from '../log.js'
import type { HealthCheck } from './health-check.js'
import { HttpHealthCheck } from './http-check.js'
import { bumpHealthEpoch } from './health-epoch.js'

/** Keys start with `health|` so they can share a set with pool keys (see Generation.usage). */
export function healthKey(origin: string, s: ResolvedHealthCheck): string {
  return [
    'health', origin, s.method, s.path, s.interval, s.timeout, s.expectStatusText, String(s.expectBody ?? ''),
    JSON.stringify(s.headers), s.healthyAfter, s.unhealthyAfter,
  ].join('|')
}

interface Entry { check: HealthCheck; groups: Set<string> }

export class HealthRegistry {
  /** Where transitions are logged. The Runtime sets it to its own log. */
  log: RuntimeLog = silentLog
  readonly #entries = new Map<string, Entry>()

  /** The running check for this server and settings, created and started on first use. */
  acquire(origin: string, settings: ResolvedHealthCheck, group: string): HealthCheck {
    const key = healthKey(origin, settings)
    let entry = this.#entries.get(key)
    if (entry === undefined) {
      const groups = new Set<string>()
      const check = new HttpHealthCheck(origin, settings, (c, healthy, reason) => {
        bumpHealthEpoch()
        const names = [...groups].map((g) => `'${g}'`).join(', ')
        const message = `server ${c.origin} of upstream ${names}: ${healthy ? 'unhealthy → healthy' : 'healthy → unhealthy'} (${reason})`
        if (healthy) this.log.info(message, { upstream: c.origin })
        else this.log.warn(message, { upstream: c.origin })
      })
      entry = { check, groups }
      this.#entries.set(key, entry)
      check.start()
    }
    entry.groups.add(group)
    return entry.check
  }

  /** Checks of a server (any settings): for the admin API and tests. */
  checks(origin?: string): HealthCheck[] {
    return [...this.#entries.values()].map((e) => e.check).filter((c) => origin === undefined || c.origin === origin)
  }

  /** Stop every check whose key is not in `keep`. */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    const stopping: Promise<void>[] = []
    for (const [key, entry] of this.#entries) {
      if (keep.has(key)) continue
      this.#entries.delete(key)
      stopping.push(entry.check.stop())
    }
    await Promise.all(stopping)
  }

  async close(): Promise<void> {
    await this.retain(new Set())
  }
}

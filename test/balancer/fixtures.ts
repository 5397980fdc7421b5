import type { PickContext, UpstreamMember } from '../../runtime/balancer/balancer.js'
import { FastRandom, type RandomSource } from '../../runtime/balancer/fast-random.js'
import { ServerState } from '../../runtime/upstream/server-state.js'

/** Members `http://s0:80`, `http://s1:80`, … with the given weights (default 1 each). */
export function makeMembers(count: number, weights: readonly number[] = []): UpstreamMember[] {
  return Array.from({ length: count }, (_, index) => makeMember(index, weights[index] ?? 1))
}

export function makeMember(index: number, weight = 1, origin = `http://s${index}:80`): UpstreamMember {
  return { origin, weight, index, state: new ServerState(origin) }
}

export interface CtxInit {
  clientIp?: string
  method?: string
  path?: string
  query?: string
  headers?: Record<string, string>
}

export function makeCtx(init: CtxInit = {}): PickContext {
  const headers = init.headers ?? {}
  return {
    clientIp: init.clientIp ?? '',
    method: init.method ?? 'GET',
    path: init.path ?? '/',
    query: init.query ?? '',
    header: (name) => headers[name],
  }
}

/** A seeded source, so random policies give the same sequence every run. */
export function seededRandom(seed: number): RandomSource {
  return new FastRandom(seed)
}

/** Counts picks per origin. */
export function tally(picks: Iterable<UpstreamMember | undefined>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const m of picks) {
    const key = m?.origin ?? 'undefined'
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/**
 * Half-width of an acceptance band for a binomial count: 6.5 standard deviations, two-sided
 * probability ≈ 8e-11 per category under a true random source, so even an unseeded run over
 * a dozen categories fails with probability < 1e-9.
 */
export function binomialTolerance(trials: number, p: number): number {
  return 6.5 * Math.sqrt(trials * p * (1 - p))
}

import type { Balancer } from './balancer.js'
import { CustomBalancer, type InvalidPickError, type PickFunction } from './custom.js'
import { FirstBalancer } from './first.js'
import { HashBalancer } from './hash.js'
import { IpHashBalancer } from './ip-hash.js'
import { LeastConnBalancer } from './least-conn.js'
import { P2cBalancer, type P2cOptions } from './p2c.js'
import type { RandomSource } from './fast-random.js'
import { RandomBalancer } from './random.js'
import { parseHashKey, type HashKey } from './request-key.js'
import { RoundRobinBalancer } from './round-robin.js'

export const BALANCE_POLICIES = ['round-robin', 'random', 'least-conn', 'ip-hash', 'hash', 'p2c', 'first'] as const

/** Policies that need no options and can be named by a string. */
export type SimpleBalancePolicy = Exclude<(typeof BALANCE_POLICIES)[number], 'hash'>

/** The resolved `balance` option of an upstream group. */
export type BalanceSpec =
  | SimpleBalancePolicy
  | { policy: 'hash'; key: HashKey }
  /** `decay`: time constant of the latency estimate in ms, default 10,000. */
  | { policy: 'p2c'; decay?: number }
  | PickFunction

/** Runtime hooks, not user options (tests pass a seeded random source and a fake clock). */
export interface BalancerOptions {
  /** For random, least-conn (ties) and p2c. Default: a FastRandom seeded from Math.random. */
  random?: RandomSource
  /**
   * p2c's clock, ms, read once per pick: the clock the forwarder passes to
   * `ServerState.recordLatency`. Default `performance.now()`, which costs ~135 ns and a heap
   * number per call on Node 20 here; the runtime can pass `() => requestStartMs` instead, the
   * timestamp it already took for the request.
   */
  now?: () => number
  /** Where a custom policy's first invalid return is reported (default: process.emitWarning). */
  onInvalidPick?: (error: InvalidPickError) => void
}

/** Builds a fresh balancer; throws a TypeError for a spec `validateBalanceSpec` rejects. */
export function createBalancer(spec: BalanceSpec, options: BalancerOptions = {}): Balancer {
  const problem = validateBalanceSpec(spec, 'balance')
  if (problem !== undefined) throw new TypeError(problem)
  if (typeof spec === 'function') {
    return new CustomBalancer(spec, options.onInvalidPick ? { onInvalidPick: options.onInvalidPick } : {})
  }
  if (typeof spec === 'object') {
    if (spec.policy === 'hash') return new HashBalancer(spec.key)
    return p2c(options, spec.decay)
  }
  switch (spec) {
    case 'round-robin':
      return new RoundRobinBalancer()
    case 'random':
      return new RandomBalancer(options.random)
    case 'least-conn':
      return new LeastConnBalancer(options.random)
    case 'ip-hash':
      return new IpHashBalancer()
    case 'p2c':
      return p2c(options, undefined)
    case 'first':
      return new FirstBalancer()
  }
}

function p2c(options: BalancerOptions, decay: number | undefined): P2cBalancer {
  const p2cOptions: P2cOptions = {}
  if (decay !== undefined) p2cOptions.decay = decay
  if (options.random !== undefined) p2cOptions.random = options.random
  if (options.now !== undefined) p2cOptions.now = options.now
  return new P2cBalancer(p2cOptions)
}

const KEY_FORMS = 'expected header:NAME, cookie:NAME, query:NAME, path, ip or a function'

/**
 * Checks a user's `balance` value; returns `"<path>[.field]: problem"` or undefined when it
 * is a valid BalanceSpec. For the config validator, which reports every problem at once.
 */
export function validateBalanceSpec(value: unknown, path: string): string | undefined {
  if (typeof value === 'function') return undefined
  if (typeof value === 'string') {
    if (value === 'hash') return `${path}: policy 'hash' needs a key: { policy: 'hash', key: 'header:NAME' }`
    if ((BALANCE_POLICIES as readonly string[]).includes(value)) return undefined
    return `${path}: unknown policy '${value}' (known: ${BALANCE_POLICIES.join(', ')})`
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `${path}: expected a policy name, { policy: 'hash', key }, { policy: 'p2c', decay } or a function, got ${describe(value)}`
  }
  const spec = value as Record<string, unknown>
  const policy = spec.policy
  if (policy === 'hash') {
    const extra = unknownField(spec, ['policy', 'key'], path)
    if (extra !== undefined) return extra
    const key = spec.key
    if (typeof key === 'function') return undefined
    if (typeof key === 'string' && parseHashKey(key) !== undefined) return undefined
    return `${path}.key: ${KEY_FORMS}, got ${describe(key)}`
  }
  if (policy === 'p2c') {
    const extra = unknownField(spec, ['policy', 'decay'], path)
    if (extra !== undefined) return extra
    const decay = spec.decay
    if (decay === undefined || (typeof decay === 'number' && decay > 0 && Number.isFinite(decay))) return undefined
    return `${path}.decay: expected a positive number of milliseconds, got ${describe(decay)}`
  }
  if (typeof policy === 'string' && (BALANCE_POLICIES as readonly string[]).includes(policy)) {
    return `${path}.policy: '${policy}' takes no options: write balance: '${policy}'`
  }
  if (typeof policy === 'string') {
    return `${path}.policy: unknown policy '${policy}' (known: ${BALANCE_POLICIES.join(', ')})`
  }
  return `${path}.policy: expected 'hash' or 'p2c', got ${describe(policy)}`
}

function unknownField(spec: Record<string, unknown>, known: readonly string[], path: string): string | undefined {
  for (const field of Object.keys(spec)) {
    if (!known.includes(field)) return `${path}.${field}: unknown option (known: ${known.join(', ')})`
  }
  return undefined
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

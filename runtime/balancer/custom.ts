import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { RoundRobinBalancer } from './round-robin.js'

/** A user's policy: choose one of the candidates (already health-filtered). */
export type PickFunction = (
  candidates: readonly UpstreamMember[],
  ctx: PickContext,
) => UpstreamMember | undefined

/** A custom policy returned something that is not one of the candidates it was given. */
export class InvalidPickError extends Error {
  override readonly name = 'InvalidPickError'
  constructor(readonly returned: unknown) {
    super(
      `custom balance function returned ${describeReturn(returned)}, which is not one of the ` +
        'candidates it was given; falling back to round robin (reported once per config load)',
    )
  }
}

export interface CustomBalancerOptions {
  /**
   * Told about the first invalid return of this balancer (one per config load, so a broken
   * function cannot flood the log). Default: `process.emitWarning`.
   */
  onInvalidPick?: (error: InvalidPickError) => void
}

/**
 * Adapts a user function into a Balancer, never trusting its return value:
 * - one of the candidates → used; an object with a candidate's `origin` (a copy) → that
 *   candidate, so identity-based code downstream still works;
 * - undefined → "no preference": smooth weighted round robin, not reported;
 * - anything else (an unhealthy member, another group's server, junk) → round robin, and
 *   `onInvalidPick` is called once with an InvalidPickError.
 * The function is not called when there are no candidates. If it throws, the error
 * propagates to the request's error handling (a bug in user code should be seen, not hidden).
 * O(n) check per pick on top of the function's own cost.
 */
export class CustomBalancer implements Balancer {
  readonly #choose: PickFunction
  readonly #onInvalidPick: (error: InvalidPickError) => void
  readonly #fallback = new RoundRobinBalancer()
  #reported = false

  constructor(choose: PickFunction, options: CustomBalancerOptions = {}) {
    this.#choose = choose
    this.#onInvalidPick = options.onInvalidPick ?? ((error) => process.emitWarning(error))
  }

  update(members: readonly UpstreamMember[]): void {
    this.#fallback.update(members)
  }

  pick(candidates: readonly UpstreamMember[], ctx: PickContext): UpstreamMember | undefined {
    const n = candidates.length
    if (n === 0) return undefined
    const chosen: unknown = this.#choose(candidates, ctx)
    if (chosen === undefined) return this.#fallback.pick(candidates, ctx)
    for (let i = 0; i < n; i++) if (candidates[i] === chosen) return chosen as UpstreamMember
    const origin = typeof chosen === 'object' && chosen !== null ? (chosen as { origin?: unknown }).origin : undefined
    if (typeof origin === 'string') {
      for (let i = 0; i < n; i++) if (candidates[i]!.origin === origin) return candidates[i]
    }
    if (!this.#reported) {
      this.#reported = true
      this.#onInvalidPick(new InvalidPickError(chosen))
    }
    return this.#fallback.pick(candidates, ctx)
  }
}

function describeReturn(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') {
    const origin = (value as { origin?: unknown }).origin
    return typeof origin === 'string' ? `server ${origin}` : 'an object'
  }
  return typeof value === 'string' ? `'${value}'` : `${typeof value} ${String(value)}`
}

import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { Rendezvous } from './rendezvous.js'
import { compileKeyHasher, NO_KEY, type HashKey, type KeyHasher } from './request-key.js'
import { RoundRobinBalancer } from './round-robin.js'

/**
 * Consistent hashing on a request key (see request-key.ts for the key forms) by weighted
 * rendezvous hashing (see rendezvous.ts for why HRW): the same key goes to the same server
 * while it is a candidate; removing or adding one of N servers remaps about 1/N of keys.
 *
 * A request without the key (header/cookie/parameter absent or empty, key function returned
 * nothing) falls back to smooth weighted round robin, so keyless traffic still spreads by
 * weight instead of piling onto the one server that the hash of "" would pick.
 */
export class HashBalancer implements Balancer {
  readonly #keyHash: KeyHasher
  readonly #rendezvous = new Rendezvous()
  readonly #fallback = new RoundRobinBalancer()

  constructor(key: HashKey) {
    this.#keyHash = compileKeyHasher(key)
  }

  update(members: readonly UpstreamMember[]): void {
    this.#rendezvous.update(members)
    this.#fallback.update(members)
  }

  pick(candidates: readonly UpstreamMember[], ctx: PickContext): UpstreamMember | undefined {
    if (candidates.length <= 1) return candidates[0]
    const keyHash = this.#keyHash(ctx)
    if (keyHash === NO_KEY) return this.#fallback.pick(candidates, ctx)
    return this.#rendezvous.pick(candidates, keyHash)
  }
}

import type { Balancer, PickContext, UpstreamMember } from './balancer.js'
import { keyHash } from './hash-key.js'
import { Rendezvous } from './rendezvous.js'
import { NO_KEY } from './request-key.js'
import { RoundRobinBalancer } from './round-robin.js'

/**
 * Client-address affinity, like nginx's `ip_hash`: an IPv4 client is keyed by its /24 (the
 * first three octets), so clients behind one NAT pool or proxy farm stay together; an IPv6
 * client by its whole address (as nginx does). IPv4-mapped IPv6 (`::ffff:10.0.0.1`, what a
 * dual-stack Node socket reports) counts as IPv4. Unlike nginx's ip_hash, the choice is
 * consistent (weighted rendezvous hashing, shared with the hash policy), so removing one of
 * N servers remaps only ~1/N of clients. No address (empty) → smooth weighted round robin.
 */
export class IpHashBalancer implements Balancer {
  readonly #rendezvous = new Rendezvous()
  readonly #fallback = new RoundRobinBalancer()

  update(members: readonly UpstreamMember[]): void {
    this.#rendezvous.update(members)
    this.#fallback.update(members)
  }

  pick(candidates: readonly UpstreamMember[], ctx: PickContext): UpstreamMember | undefined {
    if (candidates.length <= 1) return candidates[0]
    const keyHash = clientAddressHash(ctx.clientIp)
    if (keyHash === NO_KEY) return this.#fallback.pick(candidates, ctx)
    return this.#rendezvous.pick(candidates, keyHash)
  }
}

const IPV4_MAPPED_PREFIX = '::ffff:'

/** Hash of the address's affinity group: the /24 for IPv4, the whole address for IPv6. */
export function clientAddressHash(ip: string): number {
  if (ip.length === 0) return NO_KEY
  const start = ip.startsWith(IPV4_MAPPED_PREFIX) ? IPV4_MAPPED_PREFIX.length : 0
  let dots = 0
  for (let i = start; i < ip.length; i++) {
    const c = ip.charCodeAt(i)
    if (c === 58 /* : */) break // IPv6
    if (c === 46 /* . */ && ++dots === 3) return keyHash(ip, start, i)
  }
  return keyHash(ip)
}

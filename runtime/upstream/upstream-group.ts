/** A named group of servers as the data plane uses it: members, their pools, the balancer. */
import type { Pool } from 'undici'
import type { ResolvedUpstream } from '../resolved-config.js'
import type { Balancer, PickContext, UpstreamMember } from '../balancer/balancer.js'
import { RoundRobinBalancer } from '../balancer/round-robin.js'
import type { ServerStateRegistry } from './server-state.js'
import { PoolRegistry, poolKey } from '../forward/pool-registry.js'

export interface GroupMember extends UpstreamMember {
  readonly pool: Pool
  /** `host:port` of the server, for `host: 'upstream'` and as the fallback Host. */
  readonly hostHeader: string
}

export class UpstreamGroup {
  readonly members: readonly GroupMember[]
  readonly balancer: Balancer
  readonly poolKeys: string[]

  constructor(readonly config: ResolvedUpstream, states: ServerStateRegistry, pools: PoolRegistry) {
    this.members = config.servers.map((server, index) => ({
      origin: server.origin,
      weight: server.weight,
      index,
      state: states.get(server.origin),
      pool: pools.get(server.origin, config),
      hostHeader: new URL(server.origin).host,
    }))
    this.poolKeys = config.servers.map((s) => poolKey(s.origin, config))
    this.balancer = new RoundRobinBalancer()
    this.balancer.update?.(this.members)
  }

  get name(): string {
    return this.config.name
  }

  /** The server for this request, or undefined when none is available. */
  pick(ctx: PickContext): GroupMember | undefined {
    return this.balancer.pick(this.members, ctx) as GroupMember | undefined
  }
}

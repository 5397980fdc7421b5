/**
 * `ipFilter()`: allow or deny clients by address (CIDR lists, IPv4 and IPv6), and the
 * trusted-proxy-aware client address helper other middleware use (`clientAddress`).
 *
 * ```ts
 * import { ipFilter } from 'switchyard/middleware'
 * use: [ipFilter({
 *   allow: ['10.0.0.0/8', '192.168.1.17', 'fd00::/8'],
 *   deny: ['10.0.66.0/24'],
 *   trustProxy: ['loopback', '10.0.0.5'],   // or a number of proxy hops
 * })]
 * ```
 * Denied clients get `403`. `deny` wins over `allow`; without `allow` everything not denied
 * passes. IPv4 entries also match IPv4-mapped IPv6 addresses (`::ffff:10.1.2.3`) and vice versa.
 *
 * **Client address.** By default it is `ctx.clientIp`: the connected peer, or — with the global
 * `trustProxy` config option — the client that trusted proxies name in `X-Forwarded-For`. The
 * middleware's own `trustProxy` option replaces the global one for this middleware: the
 * header is walked from the right starting at the peer (`ctx.peerIp`); the peer and every
 * address that is a trusted proxy are skipped, and the first untrusted one is the client.
 * `trustProxy` is a list of addresses / CIDRs (and the names `loopback`, `private`,
 * `linklocal`, `uniquelocal`) or a number `n`: trust exactly the `n` nearest hops. A hop that
 * is not an address (`unknown`, junk) stops the walk and is the client as written: it matches
 * no list, so the request is refused (never mistaken for the trusted proxy's own address).
 */
import type { HookContext, Middleware } from '../config/hooks.js'
import { compileTrust, parseIp, resolveClientAddress, IpList, type TrustFn, type TrustProxy } from '../../runtime/client-address.js'
import { ownTrust, textResponse } from './util.js'

export {
  parseIp, isV4, formatIp, parseCidr, cidrContains, IpList, compileTrust, resolveClientAddress,
  type IpBytes, type Cidr, type TrustProxy, type TrustFn,
} from '../../runtime/client-address.js'

/**
 * `clientAddress(ctx, trust)` for middleware: the client address of this request — under
 * `trust` when given (walking X-Forwarded-For from the peer), else `ctx.clientIp` (the global
 * `trustProxy`).
 */
export function clientAddress(ctx: HookContext, trust?: TrustProxy | TrustFn): string {
  if (trust === undefined) return ctx.clientIp
  const fn = typeof trust === 'function' ? trust : compileTrust(trust)
  return resolveClientAddress(ctx.peerIp, ctx.headers.get('x-forwarded-for'), fn)
}

export interface IpFilterOptions {
  /** Only these addresses / CIDRs pass (default: everyone not denied). */
  allow?: string[]
  /** These never pass (wins over `allow`). */
  deny?: string[]
  /** Whose X-Forwarded-For to believe (see `clientAddress` above). Default: the global `trustProxy`. */
  trustProxy?: TrustProxy
  /** Status for rejected clients, default 403. */
  status?: number
}

export function ipFilter(options: IpFilterOptions): Middleware {
  const allow = options.allow && options.allow.length > 0 ? new IpList(options.allow) : undefined
  const deny = options.deny && options.deny.length > 0 ? new IpList(options.deny) : undefined
  const trust = ownTrust(options.trustProxy)
  const status = options.status ?? 403
  return {
    name: 'ipFilter',
    onRequest(ctx) {
      const addr = parseIp(clientAddress(ctx, trust))
      if (!addr || deny?.matches(addr) || (allow && !allow.matches(addr))) {
        return textResponse(status, 'Forbidden')
      }
      return undefined
    },
  }
}

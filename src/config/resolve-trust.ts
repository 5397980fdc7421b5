/** The top-level `trustProxy` option: which peers' X-Forwarded-* headers to believe. */
import { compileTrust, parseCidr, type TrustFn } from '../../runtime/client-address.js'
import { describe } from './units.js'
import { Problems } from './validate.js'

const EXPECTED = "a list of proxy addresses / CIDRs (e.g. ['loopback', '10.0.0.0/8']) or a number of hops"

/** A trust function, or undefined for "trust nobody" (absent, an empty list, or 0 hops). */
export function resolveTrustProxy(value: unknown, p: Problems): TrustFn | undefined {
  if (value === undefined || value === false) return undefined
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 100) {
      p.add('trustProxy', `expected ${EXPECTED}; a number of hops must be an integer from 0 to 100, got ${value}`, 'trustProxy')
      return undefined
    }
    return value === 0 ? undefined : compileTrust(value)
  }
  if (value === true) {
    p.add('trustProxy', `expected ${EXPECTED}, got true — that would believe any client's X-Forwarded-For; name your proxies, e.g. 'loopback'`, 'trustProxy')
    return undefined
  }
  const entries = typeof value === 'string' ? [value] : value
  if (!Array.isArray(entries)) {
    p.add('trustProxy', `expected ${EXPECTED}, got ${describe(value)}`, 'trustProxy')
    return undefined
  }
  let ok = true
  entries.forEach((entry, i) => {
    const path = typeof value === 'string' ? 'trustProxy' : `trustProxy[${i}]`
    if (typeof entry !== 'string' || entry.trim() === '') {
      ok = false
      return p.add(path, `expected an address, a CIDR or one of loopback, private, linklocal, uniquelocal, got ${describe(entry)}`, 'trustProxy')
    }
    try {
      parseCidr(entry)
    } catch (err) {
      ok = false
      p.add(path, `${(err as Error).message} (expected an address like '10.0.0.5', a CIDR like '10.0.0.0/8' or '2001:db8::/32', or one of loopback, private, linklocal, uniquelocal)`, entry)
    }
  })
  if (!ok || entries.length === 0) return undefined
  return compileTrust(entries as string[])
}

import { createBalancer, type BalanceSpec } from '../../runtime/balancer/create-balancer.js'
import { balancerConformance } from './conformance.js'
import { makeMember, seededRandom } from './fixtures.js'

const stranger = makeMember(99, 1, 'http://elsewhere:1')

const SPECS: ReadonlyArray<[string, BalanceSpec]> = [
  ['round-robin', 'round-robin'],
  ['random', 'random'],
  ['least-conn', 'least-conn'],
  ['ip-hash', 'ip-hash'],
  ['first', 'first'],
  ['p2c', 'p2c'],
  ['p2c with decay', { policy: 'p2c', decay: 2_000 }],
  ['hash header:x-user', { policy: 'hash', key: 'header:X-User' }],
  ['hash cookie:user', { policy: 'hash', key: 'cookie:user' }],
  ['hash query:user', { policy: 'hash', key: 'query:user' }],
  ['hash path', { policy: 'hash', key: 'path' }],
  ['hash ip', { policy: 'hash', key: 'ip' }],
  ['hash function', { policy: 'hash', key: (ctx) => ctx.header('x-user') }],
  ['custom (last candidate)', (candidates) => candidates[candidates.length - 1]],
  ['custom (returns a stranger)', () => stranger],
]

for (const [name, spec] of SPECS) {
  let seed = 1
  balancerConformance(name, () =>
    createBalancer(spec, { random: seededRandom(seed++), now: () => 1_000, onInvalidPick: () => {} }),
  )
}

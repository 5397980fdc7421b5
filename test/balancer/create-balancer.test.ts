import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createBalancer, validateBalanceSpec, type BalanceSpec } from '../../runtime/balancer/create-balancer.js'
import { CustomBalancer } from '../../runtime/balancer/custom.js'
import { FirstBalancer } from '../../runtime/balancer/first.js'
import { HashBalancer } from '../../runtime/balancer/hash.js'
import { IpHashBalancer } from '../../runtime/balancer/ip-hash.js'
import { LeastConnBalancer } from '../../runtime/balancer/least-conn.js'
import { P2cBalancer } from '../../runtime/balancer/p2c.js'
import { RandomBalancer } from '../../runtime/balancer/random.js'
import { RoundRobinBalancer } from '../../runtime/balancer/round-robin.js'
import { makeMembers } from './fixtures.js'

const PATH = 'upstreams.api.balance'

describe('createBalancer', () => {
  it('builds the class of each policy', () => {
    const cases: Array<[BalanceSpec, new (...args: never[]) => object]> = [
      ['round-robin', RoundRobinBalancer],
      ['random', RandomBalancer],
      ['least-conn', LeastConnBalancer],
      ['ip-hash', IpHashBalancer],
      ['first', FirstBalancer],
      ['p2c', P2cBalancer],
      [{ policy: 'p2c', decay: 5_000 }, P2cBalancer],
      [{ policy: 'hash', key: 'cookie:sid' }, HashBalancer],
      [(candidates) => candidates[0], CustomBalancer],
    ]
    for (const [spec, kind] of cases) assert.ok(createBalancer(spec) instanceof kind, String(spec))
  })

  it('passes the p2c decay through', () => {
    const members = makeMembers(1)
    createBalancer({ policy: 'p2c', decay: 5_000 }).update?.(members)
    assert.equal(members[0]!.state.latencyDecayMs, 5_000)
  })

  it('throws a TypeError for an invalid spec', () => {
    assert.throws(() => createBalancer('lest-conn' as BalanceSpec), TypeError)
    assert.throws(() => createBalancer({ policy: 'hash', key: 'header:' }), /balance\.key: expected/)
  })
})

describe('validateBalanceSpec', () => {
  it('accepts every valid form', () => {
    const valid: unknown[] = [
      'round-robin', 'random', 'least-conn', 'ip-hash', 'p2c', 'first',
      { policy: 'p2c' }, { policy: 'p2c', decay: 2_500 },
      { policy: 'hash', key: 'header:X-User' }, { policy: 'hash', key: 'cookie:sid' },
      { policy: 'hash', key: 'query:user_id' }, { policy: 'hash', key: 'path' },
      { policy: 'hash', key: 'ip' }, { policy: 'hash', key: () => 'k' }, () => undefined,
    ]
    for (const value of valid) assert.equal(validateBalanceSpec(value, PATH), undefined, JSON.stringify(value))
  })

  it('explains what is wrong, at which path', () => {
    const cases: Array<[unknown, string]> = [
      ['lest-conn', `${PATH}: unknown policy 'lest-conn' (known: round-robin, random, least-conn, ip-hash, hash, p2c, first)`],
      ['hash', `${PATH}: policy 'hash' needs a key: { policy: 'hash', key: 'header:NAME' }`],
      [{ policy: 'hash', key: 'header' }, `${PATH}.key: expected header:NAME, cookie:NAME, query:NAME, path, ip or a function, got 'header'`],
      [{ policy: 'hash', key: 'header:bad name' }, `${PATH}.key: expected header:NAME, cookie:NAME, query:NAME, path, ip or a function, got 'header:bad name'`],
      [{ policy: 'hash' }, `${PATH}.key: expected header:NAME, cookie:NAME, query:NAME, path, ip or a function, got nothing`],
      [{ policy: 'hash', key: 'ip', decay: 1 }, `${PATH}.decay: unknown option (known: policy, key)`],
      [{ policy: 'p2c', decay: -1 }, `${PATH}.decay: expected a positive number of milliseconds, got number -1`],
      [{ policy: 'p2c', decay: '10s' }, `${PATH}.decay: expected a positive number of milliseconds, got '10s'`],
      [{ policy: 'least-conn' }, `${PATH}.policy: 'least-conn' takes no options: write balance: 'least-conn'`],
      [{ policy: 'fastest' }, `${PATH}.policy: unknown policy 'fastest' (known: round-robin, random, least-conn, ip-hash, hash, p2c, first)`],
      [{}, `${PATH}.policy: expected 'hash' or 'p2c', got nothing`],
      [42, `${PATH}: expected a policy name, { policy: 'hash', key }, { policy: 'p2c', decay } or a function, got number 42`],
      [null, `${PATH}: expected a policy name, { policy: 'hash', key }, { policy: 'p2c', decay } or a function, got null`],
    ]
    for (const [value, message] of cases) assert.equal(validateBalanceSpec(value, PATH), message)
  })
})

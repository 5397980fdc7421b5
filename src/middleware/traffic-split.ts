/**
 * `trafficSplit()`: send a weighted share of a route's traffic to other upstream groups
 * (canary releases, A/B tests), optionally sticky per user.
 *
 * ```ts
 * import { trafficSplit } from 'switchyard/middleware'
 * routes: [{ match: { path: '/*' }, to: 'stable', use: [trafficSplit({
 *   groups: { stable: 90, canary: 10 },
 *   sticky: { cookie: 'sy_split' },          // or { header: 'x-user-id' }
 * })] }]
 * ```
 * Weights are relative (any non-negative numbers). Without `sticky`, every request is assigned
 * at random. `sticky.cookie`: a request carrying the cookie with a group that still has weight
 * > 0 goes there; others are assigned at random and get `Set-Cookie: name=group; Path=/;
 * HttpOnly; SameSite=Lax` (Max-Age from `maxAge`, default 30 days) — so setting a group's weight
 * to 0 moves its users back. `sticky.header`: the header's value is hashed (SHA-256) onto the
 * weights, so the same user always lands in the same group with no state; requests without the
 * header are assigned at random. The chosen group is in `ctx.state.split`.
 */
import { createHash } from 'node:crypto'
import type { Middleware } from '../config/hooks.js'
import { durationOption, editHeaders, parseCookies } from './util.js'

export interface TrafficSplitOptions {
  /** Group name → relative weight. */
  groups: Record<string, number>
  sticky?: { cookie: string; maxAge?: number | string } | { header: string }
  /** Random source in [0, 1), default Math.random (tests inject one). */
  random?: () => number
}

/** The group whose cumulative weight range holds `point` ∈ [0, 1). */
export function pickWeighted(entries: ReadonlyArray<readonly [string, number]>, total: number, point: number): string {
  let acc = 0
  const target = point * total
  for (const [name, w] of entries) {
    acc += w
    if (target < acc) return name
  }
  return entries.filter(([, w]) => w > 0).at(-1)![0]
}

/** A stable point in [0, 1) for a string. */
export function hashPoint(value: string): number {
  const d = createHash('sha256').update(value).digest()
  return d.readUInt32BE(0) / 2 ** 32
}

export function trafficSplit(options: TrafficSplitOptions): Middleware {
  const entries = Object.entries(options.groups ?? {})
  for (const [name, w] of entries) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new TypeError(`trafficSplit(): groups.${name}: weight must be a number ≥ 0`)
  }
  const total = entries.reduce((a, [, w]) => a + w, 0)
  if (total <= 0) throw new TypeError('trafficSplit(): at least one group needs a weight > 0')
  const random = options.random ?? Math.random
  const sticky = options.sticky
  const cookie = sticky && 'cookie' in sticky ? sticky.cookie : undefined
  const header = sticky && 'header' in sticky ? sticky.header.toLowerCase() : undefined
  const maxAge = cookie && sticky && 'cookie' in sticky ? Math.floor(durationOption(sticky.maxAge ?? '30d', 'trafficSplit(): sticky.maxAge') / 1000) : 0
  const weight = new Map(entries)
  const SET = 'trafficSplit:setCookie'

  return {
    name: 'trafficSplit',
    selectUpstream(ctx) {
      let group: string | undefined
      if (cookie) {
        const current = parseCookies(ctx.headers.get('cookie')).get(cookie)
        if (current !== undefined && (weight.get(current) ?? 0) > 0) group = current
        else ctx.state[SET] = true
      } else if (header) {
        const value = ctx.headers.get(header)
        if (value) group = pickWeighted(entries, total, hashPoint(value))
      }
      group ??= pickWeighted(entries, total, random())
      ctx.state.split = group
      return group
    },
    onResponse(ctx, res) {
      if (ctx.state[SET] !== true || typeof ctx.state.split !== 'string') return undefined
      const set = `${cookie}=${ctx.state.split}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax`
      return editHeaders(res, (h) => h.append('set-cookie', set))
    },
  }
}

import type { UpstreamMember } from './balancer.js'

/** Whether weighted policies need their weighted path (all-equal weights act as unweighted). */
export function hasUnequalWeights(members: readonly UpstreamMember[]): boolean {
  for (let i = 1; i < members.length; i++) if (members[i]!.weight !== members[0]!.weight) return true
  return false
}

/** Length of a table indexed by `member.index`: the largest index + 1. */
export function indexSpan(members: readonly UpstreamMember[]): number {
  let span = 0
  for (const m of members) if (m.index >= span) span = m.index + 1
  return span
}

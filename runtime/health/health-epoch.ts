/**
 * A process-wide counter bumped whenever any server's availability changes (active check
 * transition, passive ejection). Upstream groups cache their healthy-candidate arrays and
 * rebuild them only when the counter moved: one integer compare per request in the common
 * "all healthy" case, no allocation.
 */
export const healthEpoch = { value: 0 }

export function bumpHealthEpoch(): void {
  healthEpoch.value = (healthEpoch.value + 1) & 0x3fffffff
}

/**
 * Lowering the priority of one new thread. The watchdog thread costs ~30 ms of CPU to boot
 * (a Node environment of its own), and at startup that CPU was taken from the main thread:
 * on one core it delayed the first response by about as much (issue #6, cold start). At a
 * lower priority it boots in the main thread's idle moments instead; when the main thread
 * spins (what the watchdog exists to catch) it still gets its share of the CPU.
 *
 * Linux only: threads are listed in /proc/self/task, and a thread's nice value is its own
 * (NPTL), set with setpriority() on its thread id. Elsewhere, or when more than one thread
 * appeared meanwhile, the thread keeps the process's priority.
 */
import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/** The nice value given: low enough not to compete with serving, high enough to run while the loop spins. */
export const WATCHDOG_NICE = 10

/** Runs `start`, which must create one thread, and gives that thread `nice` (or the caller's, if lower); says whether it could. */
export function startAtLowerPriority<T>(start: () => T, nice: number): { value: T; lowered: boolean } {
  const before = threadIds()
  const value = start()
  if (!before) return { value, lowered: false }
  const added = [...(threadIds() ?? [])].filter((id) => !before.has(id))
  if (added.length !== 1) return { value, lowered: false }
  try {
    // Never above the calling thread's own priority (a process started with `nice 15` stays so).
    setPriority(Number(added[0]), Math.max(nice, getPriority()))
    return { value, lowered: true }
  } catch {
    return { value, lowered: false } // the thread ended already, or a policy forbids it
  }
}

function threadIds(): Set<string> | undefined {
  try {
    return new Set(readdirSync('/proc/self/task'))
  } catch {
    return undefined
  }
}

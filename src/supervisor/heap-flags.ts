/**
 * V8 heap sizes for proxy workers, and how a worker keeps them without paying for them at start-up.
 *
 * Any V8 flag that differs from its default makes V8 reject the code cache that Node ships for its
 * own modules (the cache carries a hash of the flags it was made with): every built-in the worker
 * loads is then compiled from source (node:http, crypto, tls, cluster, worker_threads, zlib, dns and
 * readline: 24 ms instead of 10), and the watchdog thread's Node boots in ~50 ms of CPU instead of
 * ~30. V8 reads the heap sizes once, when the isolate is created, so the worker puts the flags back
 * to their defaults as its first step (`restoreFlagDefaults`, called by bin.ts): the heap keeps the
 * sizes it was given (the young generation still grows to 2 × 32 MiB; same scavenge and
 * mark-compact counts under load in bench/phase-gc.ts), and the built-ins it loads from then on
 * come from the cache. Measured (issue #6, pinned to one core): the worker's main thread uses
 * 102 ms of CPU up to the first proxied response instead of 118, the watchdog thread 37 instead of 50.
 */
import { setFlagsFromString } from 'node:v8'

/** Set in a worker's environment: the heap flags the supervisor added (names, space-separated). */
export const HEAP_FLAGS_ENV = 'SWITCHYARD_HEAP_FLAGS'

/** The flags the supervisor may add; each defaults to 0 (V8 chooses). */
const RESTORABLE = new Set(['--max-semi-space-size', '--initial-old-space-size'])

/**
 * Heap flags for proxy workers, unless the user chose them (in NODE_OPTIONS or node's flags).
 * Measured on this 2-core VM (issue #6's note):
 * - `--max-semi-space-size=32`: a proxy allocates many short-lived objects per request. A first,
 *   noisy measurement gave ≈ +20 % small-body req/s; a later A/B against 16 MiB (four alternating
 *   harness runs) showed no difference in req/s or p99. Five alternating `bench/phase-gc.ts` rounds
 *   with and without it (the old-space flag in both): small bodies and 64 KiB the same, 1 MiB
 *   648 vs 1,155 µs of CPU per request (medians; that scenario is bimodal on this VM). Kept.
 * - `--initial-old-space-size=64`: V8 starts incremental marking whenever the old generation's
 *   room left under its limit is smaller than the young generation. A proxy's old generation is
 *   small (~10 MB), so its limit settles near 33 MB, and with a 32 MiB young generation 1 MiB
 *   responses ran a full mark-compact every ~60 ms. A 64 MiB starting limit removed them:
 *   1 MiB downloads went from ≈ 2,000 to ≈ 950 µs of CPU per request. Not added when the user
 *   set an old-space size (an initial size above a smaller `--max-old-space-size` would raise it).
 *   With the semi-space flag alone, mark-compacts came back (64 KiB: 8–24 per 4 s instead of 1–4).
 * Together, against neither (three alternating `bench/phase-gc.ts` runs): 64 KiB 76 vs 109 µs
 * of CPU per request (1–3 mark-compacts instead of up to 65), 1 MiB 968 vs 1,183, small 34 vs 38.
 * Neither changes the idle RSS after start (measured: 125.7 vs 125.2 MiB for the tree).
 */
export function workerHeapFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  // Node takes `--max_semi_space_size` as well as `--max-semi-space-size`.
  const chose = (flag: RegExp) => [...execArgv, nodeOptions].some((a) => flag.test(a.replaceAll('_', '-')))
  const flags: string[] = []
  if (!chose(/--(max|min)-semi-space-size/)) flags.push('--max-semi-space-size=32')
  if (!chose(/--(max|initial)-old-space-size|--max-heap-size|--initial-heap-size/)) flags.push('--initial-old-space-size=64')
  return flags
}

/**
 * glibc malloc settings for proxy workers, each unless the user set it. Buffers of streamed
 * bodies (one 64 KiB buffer per socket read) live outside V8's heap, in malloc's, and V8 frees
 * them in batches: a scavenge runs whenever the young generation's buffers reach 32 MiB (2 × V8's
 * default max semi-space, whatever the flags; trace reason "external memory pressure"), and its
 * ArrayBuffer sweep frees them all. When the batch sits at the top of malloc's main heap, glibc
 * gives it back to the kernel (brk) once more than M_TRIM_THRESHOLD (128 KiB) is free there, and
 * the next reads fault every page in again: ~200 page faults and ~5 brk calls per 1 MiB download,
 * 1,300–1,600 µs of CPU per request instead of ~850. Whether the batch lands at the top depends on
 * what the worker served before, so a worker stayed in one mode or the other
 * (.scratch/bimodal-report.md).
 * - MALLOC_MMAP_THRESHOLD_ fixed at glibc's default (128 KiB): glibc otherwise raises it as
 *   memory is freed (up to 32 MiB, with the trim threshold at twice that), another source of modes.
 * - MALLOC_TRIM_THRESHOLD_ 64 MiB, above one batch: freed buffers stay for the next batch (0.2–0.6
 *   faults per 1 MiB download). The cost: memory freed once stays resident too, ~35 MiB from the
 *   first request on (V8's optimising compile of llhttp's wasm, on its first call; idle RSS
 *   113 → 148 MiB). `--liftoff-only` for llhttp avoided it but cost ~3 µs per small request.
 * Other C libraries ignore the variables.
 */
export function mallocEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {}
  if (env.MALLOC_MMAP_THRESHOLD_ === undefined) out.MALLOC_MMAP_THRESHOLD_ = String(128 * 1024)
  if (env.MALLOC_TRIM_THRESHOLD_ === undefined) out.MALLOC_TRIM_THRESHOLD_ = String(64 * 1024 * 1024)
  return out
}

/** What a worker forked with `flags` gets in its environment, for `restoreFlagDefaults` (always set: never inherited). */
export function heapFlagsEnv(flags: readonly string[]): Record<string, string> {
  return { [HEAP_FLAGS_ENV]: flags.map((f) => f.split('=')[0]).join(' ') }
}

/**
 * In a worker: sets the heap flags the supervisor added (named in the environment) back to their
 * defaults, after V8 has sized the heap with them. Flags the user gave are never touched.
 */
export function restoreFlagDefaults(env: NodeJS.ProcessEnv = process.env): void {
  const names = env[HEAP_FLAGS_ENV]
  if (names === undefined) return
  delete env[HEAP_FLAGS_ENV] // not for processes this one starts
  for (const name of names.split(' ')) if (RESTORABLE.has(name)) setFlagsFromString(`${name}=0`)
}

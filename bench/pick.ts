// ns per `pick()` for each balancing policy with 3, 100 and 1,000 servers, plus bytes of heap
// allocated per pick (young-generation growth across batches that saw no GC; 0 = no garbage).
// Run: node --import tsx bench/pick.ts [filter…]   (≈ 20 s; each cell is bounded to ~200 ms
// of picks; each policy runs in a fresh process). Filters keep policies whose name contains one.
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Balancer, PickContext, UpstreamMember } from '../runtime/balancer/balancer.js'
import { createBalancer, type BalancerOptions, type BalanceSpec } from '../runtime/balancer/create-balancer.js'
import { ServerState } from '../runtime/upstream/server-state.js'

const SIZES = [3, 100, 1_000] as const
const WARMUP_PICKS = 50_000
const BATCH = 10_000
const MAX_PICKS = 1_000_000
const MAX_NS = 200_000_000n
const ALLOC_PICKS = 2_000

interface Case {
  name: string
  spec: BalanceSpec
  weighted?: boolean
  /** Pick from 90% of the members (a health-filtered subset) instead of all of them. */
  subset?: boolean
  options?: BalancerOptions
}

/** Stands for the timestamp the runtime already took when the request arrived. */
const requestStartMs = performance.now()

const CASES: Case[] = [
  { name: 'round-robin', spec: 'round-robin' },
  { name: 'round-robin, weighted (smooth WRR)', spec: 'round-robin', weighted: true },
  { name: 'random', spec: 'random' },
  { name: 'random, weighted', spec: 'random', weighted: true },
  { name: 'random, weighted, 90% subset', spec: 'random', weighted: true, subset: true },
  { name: 'least-conn', spec: 'least-conn' },
  { name: 'least-conn, weighted', spec: 'least-conn', weighted: true },
  { name: 'ip-hash', spec: 'ip-hash' },
  { name: 'hash header:x-user', spec: { policy: 'hash', key: 'header:x-user' } },
  { name: 'hash header:x-user, weighted', spec: { policy: 'hash', key: 'header:x-user' }, weighted: true },
  { name: 'hash cookie:sid', spec: { policy: 'hash', key: 'cookie:sid' } },
  { name: 'hash query:user', spec: { policy: 'hash', key: 'query:user' } },
  { name: 'p2c (peak EWMA), performance.now per pick', spec: 'p2c' },
  { name: 'p2c (peak EWMA), clock from the request', spec: 'p2c', options: { now: () => requestStartMs } },
  { name: 'first', spec: 'first' },
  { name: 'custom (user function)', spec: (candidates) => candidates[candidates.length >> 1] },
]

function makeMembers(count: number, weighted: boolean): UpstreamMember[] {
  return Array.from({ length: count }, (_, index) => {
    const origin = `http://10.0.${index >> 8}.${index & 255}:8080`
    const state = new ServerState(origin)
    state.inflight = (index * 7) % 5 // uneven load for least-conn and p2c
    state.recordLatency(5 + ((index * 13) % 20), performance.now())
    return { origin, weight: weighted ? 1 + (index % 4) : 1, index, state }
  })
}

/** 1,024 distinct requests, cycled, so hashing policies see varied keys. */
function makeContexts(): PickContext[] {
  return Array.from({ length: 1_024 }, (_, i) => {
    const user = `user-${i * 7919}`
    const cookie = `theme=dark; sid=${user}; lang=en`
    return {
      clientIp: `${10 + (i & 63)}.${i >> 6}.${i & 7}.${i & 255}`,
      method: 'GET',
      path: `/api/items/${i}`,
      query: `page=2&user=${user}&sort=asc`,
      header: (name: string) => (name === 'x-user' ? user : name === 'cookie' ? cookie : undefined),
    }
  })
}

/** Consumes every pick, so none is optimized away; an int32 local, so it never boxes. */
let sink = 0
function run(balancer: Balancer, candidates: readonly UpstreamMember[], contexts: PickContext[], picks: number): void {
  let sum = 0
  for (let i = 0; i < picks; i++) sum = (sum + balancer.pick(candidates, contexts[i & 1023]!)!.index) | 0
  sink ^= sum
}

/** Heap growth of `run(…, picks)`; undefined when a GC ran meanwhile (the heap shrank). */
function allocatedBy(balancer: Balancer, candidates: readonly UpstreamMember[], contexts: PickContext[], picks: number): number | undefined {
  const before = process.memoryUsage().heapUsed
  run(balancer, candidates, contexts, picks)
  const grown = process.memoryUsage().heapUsed - before
  return grown >= 0 ? grown : undefined
}

function measure(c: Case, size: number): { ns: number; bytesPerPick: number } {
  const members = makeMembers(size, c.weighted === true)
  const candidates = c.subset ? members.filter((m) => m.index % 10 !== 3) : members
  const contexts = makeContexts()
  const balancer = createBalancer(c.spec, c.options)
  balancer.update?.(members)
  run(balancer, candidates, contexts, WARMUP_PICKS)
  let picks = 0
  let elapsed = 0n
  while (picks < MAX_PICKS && elapsed < MAX_NS) {
    const start = process.hrtime.bigint()
    run(balancer, candidates, contexts, BATCH)
    elapsed += process.hrtime.bigint() - start
    picks += BATCH
  }
  // Allocation: the smallest growth over a few batches, less that of an empty batch
  // (process.memoryUsage itself allocates a little).
  let overhead = Infinity
  let grown = Infinity
  for (let attempt = 0; attempt < 5; attempt++) {
    overhead = Math.min(overhead, allocatedBy(balancer, candidates, contexts, 0) ?? Infinity)
    grown = Math.min(grown, allocatedBy(balancer, candidates, contexts, ALLOC_PICKS) ?? Infinity)
  }
  return { ns: Number(elapsed) / picks, bytesPerPick: Math.max(0, grown - overhead) / ALLOC_PICKS }
}

/** One policy's row: ns per pick at each size, and the worst bytes per pick. */
function measureRow(c: Case): { cells: string[]; worstBytes: number } {
  const cells: string[] = []
  let worstBytes = 0
  for (const size of SIZES) {
    const { ns, bytesPerPick } = measure(c, size)
    cells.push(ns < 100 ? ns.toFixed(1) : Math.round(ns).toLocaleString('en-US'))
    worstBytes = Math.max(worstBytes, bytesPerPick)
  }
  return { cells, worstBytes }
}

type Row = { cells: string[]; worstBytes: number }
const CHILD_FLAG = '--measure-one'

/**
 * Each policy runs in its own process (fresh JIT): in one shared loop the call site turns
 * megamorphic and every policy after the first pays for the ones before it. (A worker
 * thread would do, but tsx's loader does not reach workers on Node 20.)
 */
function measureInChild(name: string): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, name])
    child.once('message', (row) => resolve(row as Row))
    child.once('error', reject)
    child.once('exit', (code) => code === 0 || reject(new Error(`measuring ${name} exited with ${code}`)))
  })
}

const childCase = process.argv[2] === CHILD_FLAG ? process.argv[3] : undefined
if (childCase === undefined) {
  const filters = process.argv.slice(2)
  const selected = CASES.filter((c) => filters.length === 0 || filters.some((f) => c.name.includes(f)))
  const rows: string[] = []
  for (const c of selected) {
    const { cells, worstBytes } = await measureInChild(c.name)
    rows.push(`| ${c.name} | ${cells.join(' | ')} | ${worstBytes.toFixed(1)} |`)
    process.stderr.write('.')
  }
  process.stderr.write('\n')
  console.log(`pick() cost, Node ${process.version}, ns per pick (mean over ≤ 1e6 picks or ~200 ms per cell)\n`)
  console.log('| policy | 3 servers | 100 servers | 1,000 servers | bytes allocated per pick (worst) |')
  console.log('|---|---:|---:|---:|---:|')
  for (const row of rows) console.log(row)
} else {
  const c = CASES.find((candidate) => candidate.name === childCase)!
  process.send!(measureRow(c))
  process.disconnect()
  if (sink === 0.5) console.log(sink) // keep `sink` observable
}

// CPU time and memory of a process tree, read from /proc (Linux only).
import { readFileSync, readdirSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

let clkTck: number | undefined
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

interface StatFields {
  ppid: number
  /** utime + stime of the process itself, in clock ticks. */
  ticks: number
}

function readStat(pid: number): StatFields | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
    // rest[0] is field 3 (state); ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) }
  } catch {
    return undefined
  }
}

/** `pid` and all its live descendants (nginx master + workers, a CLI and any workers it forks). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const st = readStat(Number(name))
    if (!st) continue
    const list = children.get(st.ppid)
    if (list) list.push(Number(name))
    else children.set(st.ppid, [Number(name)])
  }
  const out: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const p = queue.shift()!
    out.push(p)
    queue.push(...(children.get(p) ?? []))
  }
  return out
}

/** Sum of user+system CPU time of the tree, in microseconds. */
export function cpuMicros(pid: number): number {
  let ticks = 0
  for (const p of processTree(pid)) ticks += readStat(p)?.ticks ?? 0
  return (ticks * 1e6) / clockTicks()
}

/** Sum of VmRSS of the tree, in bytes (0 when the process is gone). */
export function rssBytes(pid: number): number {
  return rssOf(processTree(pid))
}

function rssOf(pids: number[]): number {
  let kb = 0
  for (const p of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch {
      /* exited between listing and reading */
    }
  }
  return kb * 1024
}

/**
 * Sum of Pss (proportional set size, /proc/PID/smaps_rollup) of `pids`, in bytes: pages shared
 * between processes (the node binary of a supervisor and its worker) are counted once in total
 * instead of once per process as RSS does. 0 when unavailable.
 */
function pssOf(pids: number[]): number {
  let kb = 0
  for (const p of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))
      if (m) kb += Number(m[1])
    } catch {
      /* exited, or no smaps_rollup (kernel < 4.14) */
    }
  }
  return kb * 1024
}

/**
 * Memory of the tree, listed once (one /proc scan): RSS in total and of each process (parent
 * first), and PSS in total (see pssOf), in bytes.
 */
export function treeMemory(pid: number): { rss: number; each: number[]; pss: number } {
  const tree = processTree(pid)
  const each = tree.map((p) => rssOf([p]))
  return { rss: each.reduce((a, b) => a + b, 0), each, pss: pssOf(tree) }
}

/** Samples RSS every `everyMs` while running; `stop()` returns the peak. */
export function sampleRss(pid: number, everyMs = 250): { stop(): number } {
  const tree = processTree(pid) // listed once: the tree does not change during a run
  let peak = rssOf(tree)
  const t = setInterval(() => {
    peak = Math.max(peak, rssOf(tree))
  }, everyMs)
  return {
    stop() {
      clearInterval(t)
      return Math.max(peak, rssBytes(pid))
    },
  }
}

/** Machine-wide CPU ticks from /proc/stat: busy = user + nice + system (irq/softirq excluded); steal. */
function machineTicks(): { busy: number; steal: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    const f = line.trim().split(/\s+/).slice(1).map(Number)
    return { busy: (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0), steal: f[7] ?? 0 }
  } catch {
    return { busy: 0, steal: 0 }
  }
}

/** This process's own CPU plus that of its reaped children (wrk runs), in µs. */
function selfMicros(): number {
  const s = readFileSync('/proc/self/stat', 'utf8')
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])
  return (ticks * 1e6) / clockTicks()
}

/**
 * Measures CPU used on the machine by processes that are not ours while a run is going on
 * (other people's tests, builds…), and hypervisor steal. `ours` lists the roots of every
 * process tree we started (proxies, origin); wrk is counted through this process's reaped children.
 */
export function foreignCpu(ours: () => number[]): { stop(): { foreignPct: number; stealPct: number } } {
  const sumOurs = (): number => ours().reduce((a, p) => a + cpuMicros(p), 0) + selfMicros()
  const m0 = machineTicks()
  const o0 = sumOurs()
  const t0 = performance.now()
  return {
    stop() {
      const m1 = machineTicks()
      const o1 = sumOurs()
      const elapsedUs = (performance.now() - t0) * 1000
      const busyUs = ((m1.busy - m0.busy) * 1e6) / clockTicks()
      const stealUs = ((m1.steal - m0.steal) * 1e6) / clockTicks()
      return {
        foreignPct: Math.max(0, ((busyUs - (o1 - o0)) / elapsedUs) * 100),
        stealPct: (stealUs / elapsedUs) * 100,
      }
    },
  }
}

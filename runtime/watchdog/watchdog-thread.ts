/**
 * The watchdog thread (see watchdog.ts). It never touches the main thread's objects: it
 * reads the heartbeat, and on a block asks V8 (inspector session connected to the main
 * thread) to pause. V8 honours the pause at the next interrupt check — loop back-edges and
 * function entries, so `while (true) {}` stops within a millisecond (measured on Node 20.20);
 * code blocked inside a native call (execSync, a sync read on a dead mount) cannot be paused
 * and is reported without a stack. Bundled config frames are mapped back with the bundle's
 * inline source map, which the inspector hands over with the script (the main thread's
 * stack-map registry is not reachable from here, and does not need to be).
 */
import { workerData } from 'node:worker_threads'
import { Session } from 'node:inspector'
import { writeSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { relative, isAbsolute } from 'node:path'
import { registerBundle, mapStack } from '../stack-map.js'
import { HEARTBEAT, PHASE, PHASES, FORMAT, describePhase, type BlockedReport, type WatchdogThreadData } from './shared.js'

const data = workerData as WatchdogThreadData
const view = new Int32Array(data.buffer)

interface ScriptInfo { url: string; sourceMapURL: string }
interface CallFrame { functionName: string; location: { scriptId: string; lineNumber: number; columnNumber: number } }

// Connected only when needed: an open session costs CPU even when idle, and connecting works
// while the main thread is blocked (measured).
let session: Session | undefined
const scripts = new Map<string, ScriptInfo>()

function connect(): Session {
  if (session) return session
  session = new Session()
  session.connectToMainThread()
  session.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string; sourceMapURL?: string } }) => {
    scripts.set(m.params.scriptId, { url: m.params.url, sourceMapURL: m.params.sourceMapURL ?? '' })
  })
  return session
}

function post<T = unknown>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => connect().post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))))
}

let last = Atomics.load(view, HEARTBEAT)
let lastChange = performance.now()
let staleTicks = 0
let fired = false
const timer = setInterval(() => {
  const beat = Atomics.load(view, HEARTBEAT)
  const now = performance.now()
  if (beat !== last) {
    last = beat
    lastChange = now
    staleTicks = 0
    return
  }
  staleTicks++
  // The loop may have stopped up to one tick before the last change was seen here, so a
  // report means "blocked for at least blockedAfter minus one tick (a quarter)".
  // Both the wall clock and this thread's own ticks must agree: a process that was
  // suspended as a whole (SIGSTOP, a laptop asleep) is not a blocked loop.
  if (fired || staleTicks * data.tickMs < data.blockedAfter || now - lastChange < data.blockedAfter) return
  fired = true
  void onBlocked(now - lastChange)
}, data.tickMs)

async function onBlocked(blockedMs: number): Promise<void> {
  const phase = PHASES[Atomics.load(view, PHASE)] ?? 'serving'
  const frames = await pausedStack().catch(() => undefined)
  const stack = frames ? frames.map(describeFrame) : []
  const user = frames ? stack.find((_, i) => isUserFrame(frames[i]!)) : undefined
  const at = user ? /\(([^()]+)\)$/.exec(user)?.[1] ?? user : undefined
  const fn = user && user.includes(' (') ? user.slice(0, user.indexOf(' (')) : undefined
  const where = at ? `, in ${fn ? `${fn} at ` : ''}${at}` : frames ? '' : ', in native code or a synchronous call (no JavaScript stack could be taken)'
  const message = `event loop blocked for ${(blockedMs / 1000).toFixed(1)} s ${describePhase(phase)}${where}`
  const report: BlockedReport = { type: 'blocked', pid: process.pid, blockedMs: Math.round(blockedMs), phase, at, fn, stack, message }
  log(message, stack, report)
  if (data.reportFd !== undefined) {
    try {
      writeSync(data.reportFd, `${JSON.stringify(report)}\n`)
      // The supervisor starts a replacement and kills this process when it is ready.
      setTimeout(kill, data.killAfterReportMs)
      clearInterval(timer)
      return
    } catch {
      // No supervisor to tell: fall through.
    }
  }
  kill()
}

function kill(): never {
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable')
}

/** Pauses the main thread and returns its call frames; resumes it again afterwards. */
async function pausedStack(): Promise<Array<{ frame: CallFrame; script: ScriptInfo | undefined }>> {
  let timeout: NodeJS.Timeout | undefined
  const paused = new Promise<CallFrame[]>((resolve, reject) => {
    connect().once('Debugger.paused', (m: { params: { callFrames: CallFrame[] } }) => resolve(m.params.callFrames))
    timeout = setTimeout(() => reject(new Error('no pause')), data.pauseTimeoutMs)
  })
  paused.catch(() => {})
  try {
    await Promise.race([post('Debugger.enable'), paused])
    await Promise.race([post('Debugger.pause'), paused])
    const frames = await paused
    return frames.map((frame) => ({ frame, script: scripts.get(frame.location.scriptId) }))
  } finally {
    clearTimeout(timeout)
    // Leave the main thread as it was (still blocked, most likely); the process is replaced anyway.
    post('Debugger.resume').then(() => post('Debugger.disable')).catch(() => {})
  }
}

const registered = new Set<string>()

function describeFrame({ frame, script }: { frame: CallFrame; script: ScriptInfo | undefined }): string {
  const url = script?.url ?? ''
  const path = url.startsWith('file://') ? fileURLToPath(url) : url || '<anonymous>'
  if (script?.sourceMapURL.startsWith('data:') && !registered.has(path)) {
    registered.add(path)
    registerBundle(path, `//# sourceMappingURL=${script.sourceMapURL}`)
  }
  const raw = `${path}:${frame.location.lineNumber + 1}:${frame.location.columnNumber + 1}`
  const mapped = registered.has(path) ? mapStack(raw) : raw
  const shown = display(mapped)
  return frame.functionName ? `${frame.functionName} (${shown})` : shown
}

function isUserFrame({ script }: { script: ScriptInfo | undefined }): boolean {
  const url = script?.url ?? ''
  return url !== '' && !url.startsWith('node:') && !url.includes('/node_modules/') && !/\/dist\/(src|runtime)\//.test(url)
}

function display(location: string): string {
  const m = /^(.*?)(:\d+:\d+)$/.exec(location)
  if (!m || !isAbsolute(m[1]!)) return location
  const rel = relative(process.cwd(), m[1]!)
  return (rel === '' || rel.startsWith('..') || isAbsolute(rel) ? m[1]! : rel) + m[2]!
}

/** Written synchronously to fd 2: the main thread, which owns process.stderr, is stuck. */
function log(message: string, stack: string[], report: BlockedReport): void {
  const line = Atomics.load(view, FORMAT) === 1
    ? JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: message, pid: report.pid, phase: report.phase, at: report.at, stack })
    : `${new Date().toISOString().slice(11, 23)} error ${message} pid=${report.pid}${stack.length ? `\n${stack.slice(0, 10).map((s) => `    at ${s}`).join('\n')}` : ''}`
  try {
    writeSync(2, `${line}\n`)
  } catch {
    // stderr closed: the supervisor still gets the report.
  }
}

/**
 * Who opened each server and client socket, so that test/run.ts can name the test behind a
 * handle left open after the last test (a port alone names nothing). `trackHandleOrigins()`
 * wraps net.Server's listen and net.Socket's connect (node:http, tls, undici and the
 * upstream client all go through them) and remembers the running test and the call site;
 * the stack is only formatted if a handle is reported.
 */
import { beforeEach } from 'node:test'
import { Server, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'

interface Origin {
  /** The test running when the handle was opened (a pool may connect for a later test). */
  test: string
  /** Captured unformatted; `.stack` is read only when the handle is reported. */
  site: Error
}

const origins = new WeakMap<object, Origin>()
let running = '(before the first test)'

/** Call before the test files are imported: the beforeEach hook reaches only tests created after it. */
export function trackHandleOrigins(): void {
  beforeEach((t) => void (running = t.name))
  const listen = Server.prototype.listen
  Server.prototype.listen = function (this: Server, ...args: unknown[]) {
    origins.set(this, origin())
    return (listen as (...a: unknown[]) => Server).apply(this, args)
  } as typeof listen
  const connect = Socket.prototype.connect
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    origins.set(this, origin())
    return (connect as (...a: unknown[]) => Socket).apply(this, args)
  } as typeof connect
}

function origin(): Origin {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 40 // deep enough to reach the test file through helpers and node:http
  const site = new Error('opened here')
  Error.stackTraceLimit = limit
  return { test: running, site }
}

/**
 * "opened during test 'name' at file:line" for a Server or Socket: an accepted socket is described
 * by its server. Undefined when it was not tracked.
 */
export function handleOrigin(handle: object): string | undefined {
  const accepted = (handle as { server?: object }).server
  const o = origins.get(handle) ?? (accepted !== undefined ? origins.get(accepted) : undefined)
  if (o === undefined) return undefined
  const via = origins.has(handle) ? '' : 'accepted by a server '
  return `${via}opened during test '${o.test}' at ${callSite(o.site)}`
}

/**
 * The first frame in a test file; else (opened from a callback: a pool, a watcher's reload) the
 * frames outside node's internals and this file, enough of them to show what led there.
 */
function callSite(site: Error): string {
  const frames = (site.stack ?? '').split('\n').slice(1).map((l) => l.trim().replace(/^at /, ''))
  const testFrame = frames.find((f) => /\.test\.ts:\d+/.test(f))
  if (testFrame !== undefined) return shorten(testFrame)
  const own = frames.filter((f) => !f.includes('node:') && !f.includes('handle-origins.ts') && !f.startsWith('new Promise'))
  return own.slice(0, 8).map(shorten).join(' ← ') || '(no frame outside node)'
}

const repo = fileURLToPath(new URL('../../', import.meta.url))

/** A frame with its path relative to the repository. */
function shorten(frame: string): string {
  return frame.replace('file://', '').replace(repo, '')
}

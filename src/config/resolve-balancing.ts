/**
 * Issue 3 options of an upstream group, checked with key-path messages and resolved to
 * ms/bytes: `balance`, `health`, `passive`, `retry` (also a route's override), `sticky`, `queue`.
 */
import type { BalanceSpec } from '../../runtime/balancer/create-balancer.js'
import { validateBalanceSpec } from '../../runtime/balancer/create-balancer.js'
import type {
  ResolvedHealthCheck, ResolvedPassive, ResolvedRetry, ResolvedSticky, ResolvedQueue, StatusTable,
} from '../../runtime/upstream/upstream-settings.js'
import { statusTable } from '../../runtime/upstream/upstream-settings.js'
import { describe, parseDuration, parseSize } from './units.js'
import { Problems, isRecord, checkKeys, expectInteger, expectBoolean, duration } from './validate.js'

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

export function resolveBalance(value: unknown, path: string, p: Problems): BalanceSpec {
  if (value === undefined) return 'round-robin'
  // p2c's decay accepts a duration string; validateBalanceSpec wants ms.
  if (isRecord(value) && value.policy === 'p2c' && value.decay !== undefined) {
    const ms = parseDuration(value.decay)
    if (typeof ms === 'string' || ms <= 0) {
      p.add(`${path}.decay`, typeof ms === 'string' ? ms : 'expected a positive duration')
      return 'round-robin'
    }
    value = { ...value, decay: ms }
  }
  const problem = validateBalanceSpec(value, path)
  if (problem !== undefined) {
    const colon = problem.indexOf(': ')
    p.add(problem.slice(0, colon), problem.slice(colon + 2))
    return 'round-robin'
  }
  return value as BalanceSpec
}

const HEALTH_KEYS = ['path', 'method', 'interval', 'timeout', 'expectStatus', 'expectBody', 'headers', 'healthyAfter', 'unhealthyAfter'] as const

export function resolveHealth(value: unknown, path: string, p: Problems): ResolvedHealthCheck | undefined {
  if (value === undefined || value === false) return undefined
  const v = value === true ? {} : value
  if (!isRecord(v)) return void p.add(path, `expected { path, interval, … }, got ${describe(value)}`)
  checkKeys(v, HEALTH_KEYS, path, p)
  const probePath = v.path ?? '/'
  if (typeof probePath !== 'string' || !probePath.startsWith('/') || /[\s#]/.test(probePath)) {
    p.add(`${path}.path`, `expected a path starting with '/', got ${describe(probePath)}`)
  }
  const method = v.method ?? 'GET'
  if (typeof method !== 'string' || !['GET', 'HEAD', 'OPTIONS', 'POST'].includes(method)) {
    p.add(`${path}.method`, `expected 'GET', 'HEAD', 'OPTIONS' or 'POST', got ${describe(method)}`)
  }
  const interval = duration(v.interval, 5000, `${path}.interval`, p)
  const timeout = duration(v.timeout, Math.min(2000, interval), `${path}.timeout`, p)
  if (interval < 10) p.add(`${path}.interval`, `expected at least 10ms, got ${interval}ms`)
  if (timeout <= 0) p.add(`${path}.timeout`, 'expected a positive duration')
  const expectStatus = v.expectStatus === undefined ? statusRange(200, 399) : parseExpectStatus(v.expectStatus, `${path}.expectStatus`, p)
  const body = v.expectBody
  if (body !== undefined && !(typeof body === 'string' || body instanceof RegExp)) {
    p.add(`${path}.expectBody`, `expected a string or a RegExp, got ${describe(body)}`)
  }
  const headers: Array<[string, string]> = []
  if (v.headers !== undefined) {
    if (!isRecord(v.headers)) p.add(`${path}.headers`, `expected { name: value }, got ${describe(v.headers)}`)
    else for (const [name, hv] of Object.entries(v.headers)) {
      if (!TOKEN.test(name)) p.add(`${path}.headers.${name}`, 'is not a valid header name', name)
      else if (typeof hv !== 'string' || !HEADER_VALUE.test(hv)) p.add(`${path}.headers.${name}`, `expected a header value string, got ${describe(hv)}`)
      else headers.push([name.toLowerCase(), hv])
    }
  }
  const healthyAfter = v.healthyAfter ?? 2
  const unhealthyAfter = v.unhealthyAfter ?? 3
  expectInteger(healthyAfter, `${path}.healthyAfter`, p, 1, 1000)
  expectInteger(unhealthyAfter, `${path}.unhealthyAfter`, p, 1, 1000)
  return {
    path: String(probePath),
    method: String(method),
    interval,
    timeout,
    expectStatus,
    expectStatusText: v.expectStatus === undefined ? '2xx,3xx' : JSON.stringify(v.expectStatus),
    expectBody: body instanceof RegExp ? new RegExp(body.source, body.flags.replace(/[gy]/g, '')) : (body as string | undefined),
    headers,
    healthyAfter: healthyAfter as number,
    unhealthyAfter: unhealthyAfter as number,
  }
}

function statusRange(from: number, to: number): StatusTable {
  const codes: number[] = []
  for (let c = from; c <= to; c++) codes.push(c)
  return statusTable(codes)
}

function isStatus(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 100 && x <= 599
}

function parseExpectStatus(value: unknown, path: string, p: Problems): StatusTable {
  const bad = () => {
    p.add(path, `expected a status (200), a class ('2xx'), a range [200, 399] or a list [200, 204, '3xx'], got ${describe(value)}`)
    return statusRange(200, 399)
  }
  const classOf = (x: unknown): StatusTable | undefined => {
    if (typeof x !== 'string' || !/^[1-5]xx$/.test(x)) return undefined
    const base = Number(x[0]) * 100
    return statusRange(base, base + 99)
  }
  if (isStatus(value)) return statusTable([value])
  const cls = classOf(value)
  if (cls) return cls
  if (!Array.isArray(value) || value.length === 0) return bad()
  if (value.length === 2 && isStatus(value[0]) && isStatus(value[1]) && value[0] < value[1]) return statusRange(value[0], value[1])
  const table = new Uint8Array(600)
  for (const entry of value) {
    const c = classOf(entry)
    if (c) c.forEach((ok, i) => (table[i] ||= ok))
    else if (isStatus(entry)) table[entry] = 1
    else return bad()
  }
  return table
}

const FAIL_KINDS = ['connect-error', 'timeout', 'reset'] as const

export function resolvePassive(value: unknown, serverCount: number, path: string, p: Problems): ResolvedPassive {
  const off: ResolvedPassive = { maxFails: 0, failTimeout: 10_000, connectError: false, timeout: false, reset: false, statuses: undefined }
  if (value === false) return off
  const v = value === undefined ? {} : value
  if (!isRecord(v)) {
    p.add(path, `expected { maxFails, failTimeout, failOn } or false, got ${describe(value)}`)
    return off
  }
  checkKeys(v, ['maxFails', 'failTimeout', 'failOn'], path, p)
  const maxFails = v.maxFails ?? 1
  expectInteger(maxFails, `${path}.maxFails`, p, 0, 1_000_000)
  const failTimeout = duration(v.failTimeout, 10_000, `${path}.failTimeout`, p)
  // Resets are opt-in: a keep-alive race (the server closing an idle connection as a request
  // goes out) would eject a healthy server.
  const failOn = v.failOn ?? ['connect-error', 'timeout']
  const kinds = outcomeList(failOn, FAIL_KINDS, `${path}.failOn`, p)
  return {
    // nginx: a group of one server is never marked unavailable (nowhere else to send).
    maxFails: serverCount > 1 && typeof maxFails === 'number' ? maxFails : 0,
    failTimeout,
    connectError: kinds.names.has('connect-error'),
    timeout: kinds.names.has('timeout'),
    reset: kinds.names.has('reset'),
    statuses: kinds.statuses,
  }
}

function outcomeList(value: unknown, names: readonly string[], path: string, p: Problems): { names: Set<string>; statuses: StatusTable | undefined } {
  const out = { names: new Set<string>(), statuses: undefined as StatusTable | undefined }
  if (!Array.isArray(value)) {
    p.add(path, `expected a list of ${names.map((n) => `'${n}'`).join(', ')} and statuses (502, 503, …), got ${describe(value)}`)
    return out
  }
  const codes: number[] = []
  value.forEach((entry, i) => {
    if (typeof entry === 'string' && names.includes(entry)) out.names.add(entry)
    else if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 400 && entry <= 599) codes.push(entry)
    else p.add(`${path}[${i}]`, `expected one of ${names.map((n) => `'${n}'`).join(', ')} or a status from 400 to 599, got ${describe(entry)}`)
  })
  if (codes.length > 0) out.statuses = statusTable(codes)
  return out
}

const RETRY_KEYS = ['tries', 'on', 'perTryTimeout', 'totalTimeout', 'backoff', 'budget', 'retryNonIdempotent', 'maxReplayBody'] as const
const RETRY_ON = ['connect-error', 'timeout', 'reset-before-response'] as const

export const NO_RETRY: ResolvedRetry = {
  tries: 1, connectError: false, timeout: false, resetBeforeResponse: false, statuses: undefined, perTryTimeout: 0,
  totalTimeout: 0, backoff: 0, budget: undefined, retryNonIdempotent: false, maxReplayBody: 0,
}

/** `base`: the group's retry, for a route override (its fields are the defaults). */
export function resolveRetry(value: unknown, path: string, p: Problems, base?: ResolvedRetry): ResolvedRetry {
  if (value === false) return NO_RETRY
  const v = value === undefined ? {} : value
  if (!isRecord(v)) {
    p.add(path, `expected { tries, on, … } or false, got ${describe(value)}`)
    return NO_RETRY
  }
  checkKeys(v, RETRY_KEYS, path, p)
  const tries = v.tries ?? base?.tries ?? 2
  expectInteger(tries, `${path}.tries`, p, 1, 10)
  let kinds: { names: Set<string>; statuses: StatusTable | undefined }
  if (v.on !== undefined || base === undefined) kinds = outcomeList(v.on ?? RETRY_ON, RETRY_ON, `${path}.on`, p)
  else {
    kinds = { names: new Set(), statuses: base.statuses }
    if (base.connectError) kinds.names.add('connect-error')
    if (base.timeout) kinds.names.add('timeout')
    if (base.resetBeforeResponse) kinds.names.add('reset-before-response')
  }
  let budget: ResolvedRetry['budget'] = base ? base.budget : { ratio: 0.2, minPerSecond: 3 }
  if (v.budget === false) budget = undefined
  else if (v.budget !== undefined) {
    if (!isRecord(v.budget)) p.add(`${path}.budget`, `expected { ratio, minPerSecond } or false, got ${describe(v.budget)}`)
    else {
      checkKeys(v.budget, ['ratio', 'minPerSecond'], `${path}.budget`, p)
      const ratio = v.budget.ratio ?? 0.2
      const minPerSecond = v.budget.minPerSecond ?? 3
      if (typeof ratio !== 'number' || !(ratio >= 0) || ratio > 10) p.add(`${path}.budget.ratio`, `expected a number from 0 to 10 (0.2 = 20%), got ${describe(ratio)}`)
      if (typeof minPerSecond !== 'number' || !(minPerSecond >= 0) || !Number.isFinite(minPerSecond)) {
        p.add(`${path}.budget.minPerSecond`, `expected a number ≥ 0, got ${describe(minPerSecond)}`)
      }
      budget = { ratio: Number(ratio), minPerSecond: Number(minPerSecond) }
    }
  }
  const retryNonIdempotent = v.retryNonIdempotent ?? base?.retryNonIdempotent ?? false
  expectBoolean(retryNonIdempotent, `${path}.retryNonIdempotent`, p)
  let maxReplayBody = base?.maxReplayBody ?? 64 * 1024
  if (v.maxReplayBody !== undefined) {
    const size = parseSize(v.maxReplayBody)
    if (typeof size === 'string') p.add(`${path}.maxReplayBody`, size)
    else maxReplayBody = size
  }
  return {
    tries: typeof tries === 'number' ? tries : 1,
    connectError: kinds.names.has('connect-error'),
    timeout: kinds.names.has('timeout'),
    resetBeforeResponse: kinds.names.has('reset-before-response'),
    statuses: kinds.statuses,
    perTryTimeout: duration(v.perTryTimeout, base?.perTryTimeout ?? 0, `${path}.perTryTimeout`, p),
    totalTimeout: duration(v.totalTimeout, base?.totalTimeout ?? 0, `${path}.totalTimeout`, p),
    backoff: duration(v.backoff, base?.backoff ?? 0, `${path}.backoff`, p),
    budget,
    retryNonIdempotent: retryNonIdempotent === true,
    maxReplayBody,
  }
}

export function resolveSticky(value: unknown, path: string, p: Problems): ResolvedSticky | undefined {
  if (value === undefined) return undefined
  if (!isRecord(value)) return void p.add(path, `expected { cookie: 'name', ttl?, … }, got ${describe(value)}`)
  checkKeys(value, ['cookie', 'ttl', 'httpOnly', 'secure', 'sameSite', 'path'], path, p)
  if (typeof value.cookie !== 'string' || !TOKEN.test(value.cookie)) {
    p.add(`${path}.cookie`, `expected a cookie name (letters, digits, - _ …), got ${describe(value.cookie)}`)
  }
  const httpOnly = value.httpOnly ?? true
  const secure = value.secure ?? false
  expectBoolean(httpOnly, `${path}.httpOnly`, p)
  expectBoolean(secure, `${path}.secure`, p)
  const sameSite = value.sameSite ?? 'Lax'
  if (sameSite !== 'Strict' && sameSite !== 'Lax' && sameSite !== 'None') {
    p.add(`${path}.sameSite`, `expected 'Strict', 'Lax' or 'None', got ${describe(sameSite)}`)
  }
  const cookiePath = value.path ?? '/'
  if (typeof cookiePath !== 'string' || !/^\/[\x21-\x3a\x3c-\x7e]*$/.test(cookiePath)) {
    p.add(`${path}.path`, `expected a path starting with '/', got ${describe(cookiePath)}`)
  }
  return {
    cookie: String(value.cookie),
    maxAge: Math.round(duration(value.ttl, 0, `${path}.ttl`, p) / 1000),
    httpOnly: httpOnly === true,
    secure: secure === true,
    sameSite: sameSite as ResolvedSticky['sameSite'],
    path: String(cookiePath),
  }
}

export function resolveQueue(value: unknown, path: string, p: Problems): ResolvedQueue {
  const v = value === undefined ? {} : value
  if (!isRecord(v)) {
    p.add(path, `expected { size, timeout }, got ${describe(value)}`)
    return { size: 100, timeout: 5000 }
  }
  checkKeys(v, ['size', 'timeout'], path, p)
  const size = v.size ?? 100
  expectInteger(size, `${path}.size`, p, 0, 1_000_000)
  return { size: typeof size === 'number' ? size : 100, timeout: duration(v.timeout, 5000, `${path}.timeout`, p) }
}

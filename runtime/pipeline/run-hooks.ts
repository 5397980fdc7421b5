/**
 * Runs one phase's hooks for a request. A hook that throws (or rejects) ends that request
 * with 500 (after `onError` hooks had their say), logged with the hook's name and a stack
 * mapped back to the config; the proxy keeps serving.
 */
import type { LogRecord, ProxyError, UpstreamRequestInfo, UpstreamResponseInfo } from '../../src/config/hooks.js'
import type { Named, RouteHooks } from './route-hooks.js'
import type { RequestHookContext } from './hook-context.js'
import type { RuntimeLog } from '../log.js'
import { isResponseLike } from '../handle/send-web-response.js'
import { mapStack } from '../stack-map.js'

/** A hook failed; carries what the client should get. */
export class HookError extends Error implements ProxyError {
  readonly status = 500
  constructor(readonly hook: string, readonly phase: string, override readonly cause: unknown) {
    super(`${phase} hook of '${hook}' threw: ${(cause as Error)?.message ?? String(cause)}`)
  }

  get reason(): string {
    return this.message
  }
}

/** Tracing only: one hook ran (`result`: what it did, '-' for nothing). */
function traced(hctx: RequestHookContext, phase: string, middleware: string, result: string): void {
  hctx.ctx.trace!.push({ type: 'hook', phase, middleware, result })
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return '-'
  if (typeof value === 'object' && 'status' in value) return `answered ${(value as { status: unknown }).status}`
  return String(value)
}

function fail(hook: string, phase: string, err: unknown, log: RuntimeLog, hctx?: RequestHookContext): never {
  if (hctx !== undefined && hctx.ctx.trace !== undefined) traced(hctx, phase, hook, `threw ${(err as Error)?.message ?? String(err)}`)
  const error = err instanceof HookError ? err : new HookError(hook, phase, err)
  log.error(`${error.message}\n${mapStack((err as Error)?.stack ?? '')}`, { hook, phase })
  throw error
}

/** The first Response a hook returns ends the phase (and the request's forwarding). */
export async function runOnRequest(hooks: RouteHooks, hctx: RequestHookContext, log: RuntimeLog): Promise<Response | undefined> {
  for (const { name, fn } of hooks.onRequest) {
    let result: unknown
    try {
      result = await fn(hctx)
    } catch (err) {
      fail(name, 'onRequest', err, log, hctx)
    }
    if (hctx.ctx.trace !== undefined) traced(hctx, 'onRequest', name, describe(result))
    if (result === undefined || result === null) continue
    if (!isResponseLike(result)) fail(name, 'onRequest', new TypeError(`returned ${typeof result}, expected a Response or nothing`), log)
    return result as Response
  }
  return undefined
}

/** The last hook that names a group wins (each sees the previous choice in ctx.upstream). */
export async function runSelectUpstream(hooks: RouteHooks, hctx: RequestHookContext, log: RuntimeLog): Promise<{ group: string; server?: string } | undefined> {
  let choice: { group: string; server?: string } | undefined
  for (const { name, fn } of hooks.selectUpstream) {
    try {
      const result = await fn(hctx)
      if (typeof result === 'string') choice = { group: result }
      else if (result && typeof result === 'object' && typeof result.group === 'string') choice = result
      if (hctx.ctx.trace !== undefined) {
        traced(hctx, 'selectUpstream', name, result ? `chose group ${choice!.group}${choice!.server ? ` server ${choice!.server}` : ''}` : '-')
      }
    } catch (err) {
      fail(name, 'selectUpstream', err, log, hctx)
    }
  }
  return choice
}

export function runOnUpstreamRequest(hooks: RouteHooks, hctx: RequestHookContext, request: UpstreamRequestInfo, log: RuntimeLog): Promise<void> {
  return runEditing(hooks.onUpstreamRequest, 'onUpstreamRequest', hctx, request, log, showRequest)
}

export function runOnUpstreamResponse(hooks: RouteHooks, hctx: RequestHookContext, response: UpstreamResponseInfo, log: RuntimeLog): Promise<void> {
  return runEditing(hooks.onUpstreamResponse, 'onUpstreamResponse', hctx, response, log, showResponse)
}

/** A phase whose hooks edit `info` in place, each after the previous; `show` is what a trace shows after each. */
async function runEditing<I>(
  list: readonly Named<(hctx: RequestHookContext, info: I) => unknown>[], phase: string, hctx: RequestHookContext, info: I,
  log: RuntimeLog, show: (info: I) => string,
): Promise<void> {
  for (const { name, fn } of list) {
    try {
      await fn(hctx, info)
    } catch (err) {
      fail(name, phase, err, log, hctx)
    }
    if (hctx.ctx.trace !== undefined) traced(hctx, phase, name, show(info))
  }
}

const showRequest = (request: UpstreamRequestInfo): string => `→ ${request.method} ${request.path}`
const showResponse = (response: UpstreamResponseInfo): string => `status ${response.status}${response.cacheable ? '' : ', not cacheable'}`

export async function runOnResponse(hooks: RouteHooks, hctx: RequestHookContext, response: Response, log: RuntimeLog): Promise<Response> {
  let current = response
  for (const { name, fn } of hooks.onResponse) {
    let result: unknown
    try {
      result = await fn(hctx, current)
    } catch (err) {
      fail(name, 'onResponse', err, log, hctx)
    }
    if (hctx.ctx.trace !== undefined) traced(hctx, 'onResponse', name, result === undefined || result === null ? '-' : `replaced the response (status ${(result as Response).status})`)
    if (result === undefined || result === null) continue
    if (!isResponseLike(result)) fail(name, 'onResponse', new TypeError(`returned ${typeof result}, expected a Response or nothing`), log)
    current = result as Response
  }
  return current
}

/** The first hook that answers wins; a hook that throws here is logged and skipped. */
export async function runOnError(hooks: RouteHooks, hctx: RequestHookContext, error: ProxyError, log: RuntimeLog): Promise<Response | undefined> {
  for (const { name, fn } of hooks.onError) {
    try {
      const result = await fn(hctx, error)
      if (hctx.ctx.trace !== undefined) traced(hctx, 'onError', name, isResponseLike(result) ? describe(result) : '-')
      if (isResponseLike(result)) return result as Response
    } catch (err) {
      if (hctx.ctx.trace !== undefined) traced(hctx, 'onError', name, `threw ${(err as Error)?.message ?? String(err)}`)
      log.error(`onError hook of '${name}' threw: ${mapStack((err as Error)?.stack ?? String(err))}`, { hook: name })
    }
  }
  return undefined
}

export function runOnLog(hooks: RouteHooks, hctx: RequestHookContext, record: LogRecord, log: RuntimeLog): void {
  for (const { name, fn } of hooks.onLog) {
    try {
      fn(hctx, record)
    } catch (err) {
      log.error(`onLog hook of '${name}' threw: ${mapStack((err as Error)?.stack ?? String(err))}`, { hook: name })
    }
  }
}

/** Small helpers shared by the built-in middleware (not exported from 'switchyard/middleware'). */
import { parseDuration, parseSize } from '../config/units.js'
import { isProxyResponse } from '../../runtime/pipeline/proxy-response.js'
import { compileTrust, type TrustFn, type TrustProxy } from '../../runtime/client-address.js'
import type { HookContext } from '../config/hooks.js'

/** Milliseconds from a number (ms) or a string with a unit ('5s'); throws a TypeError naming `what`. */
export function durationOption(value: number | string, what: string): number {
  const ms = parseDuration(value)
  if (typeof ms === 'string') throw new TypeError(`${what}: ${ms}`)
  return ms
}

/** Bytes from a number or a string with a unit ('64kb'); throws a TypeError naming `what`. */
export function sizeOption(value: number | string, what: string): number {
  const bytes = parseSize(value)
  if (typeof bytes === 'string') throw new TypeError(`${what}: ${bytes}`)
  return bytes
}

/**
 * `response` with its headers changed by `edit`. A response the proxy forwarded or served from
 * its cache (a ProxyResponse, made for this request alone) is changed in place, so its body keeps
 * the proxy's direct path to the client: a copy over the body costs ~80 µs per request in Web
 * streams (bench/hooks.ts). Any other response gets a copy: user code may return one object to
 * many requests (a module-level `new Response(null, …)`), and its headers may be immutable.
 */
export function editHeaders(response: Response, edit: (headers: Headers) => void): Response {
  if (isProxyResponse(response)) {
    edit(response.headers)
    return response
  }
  const copy = new Headers(response.headers)
  edit(copy)
  return withHeaders(response, copy)
}

/** A copy of `response` with other headers (and optionally another body); status kept. */
export function withHeaders(response: Response, headers: Headers, body: ReadableStream<Uint8Array> | null = response.body): Response {
  return new Response(body, { status: response.status, statusText: response.statusText, headers })
}

/** Adds `token` to a comma-separated list header (Vary) unless it is already there or the list is `*`. */
export function appendToken(headers: Headers, name: string, token: string): void {
  const current = headers.get(name)
  if (current === null || current.trim() === '') return headers.set(name, token)
  const tokens = current.split(',').map((t) => t.trim().toLowerCase())
  if (tokens.includes('*') || tokens.includes(token.toLowerCase())) return
  headers.set(name, `${current}, ${token}`)
}

/** A plain-text answer. */
export function textResponse(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } })
}

/** `name=value` pairs of a Cookie header (first occurrence wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const out = new Map<string, string>()
  if (!header) return out
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const name = part.slice(0, eq).trim()
    let value = part.slice(eq + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    if (name && !out.has(name)) out.set(name, value)
  }
  return out
}

/** A middleware's own `log` option (its default is the request's `ctx.log`, the proxy's log). */
export type Logger = (level: 'warn' | 'info' | 'debug', message: string) => void

/** Logs `message` through the middleware's own `log` if it has one, else the request's `ctx.log`. */
export function logTo(log: Logger | undefined, ctx: HookContext, level: 'warn' | 'info', message: string): void {
  if (log) log(level, message)
  else ctx.log[level](message)
}

/** A middleware's own `trustProxy` option compiled; undefined (not set) leaves the global one in charge. */
export function ownTrust(trustProxy: TrustProxy | undefined): TrustFn | undefined {
  return trustProxy === undefined ? undefined : compileTrust(trustProxy)
}

/**
 * The `ctx` hooks see. Everything costly is built on first use from the RequestContext:
 * the URL, the Headers, the Web Request. The forwarder asks `headersTouched` / `requestBody`
 * to know whether to send the hooks' view instead of the raw request.
 */
import { Readable } from 'node:stream'
import type { HookContext, RequestLog, RequestTimings } from '../../src/config/hooks.js'
import type { RequestContext } from '../context.js'
import { canonicalize } from '../canonical.js'
import { toWebRequest, rawToHeaders, requestUrl } from '../handle/web-request.js'
import { forwardWeb } from '../handle/forward-web.js'
import { RequestLogger, annotate } from '../log.js'
import { limitBody } from '../body-guard.js'

export class RequestHookContext implements HookContext {
  readonly state: Record<string, unknown> = {}
  readonly timings: RequestTimings
  #headers: Headers | undefined
  #request: Request | undefined
  #url: URL | undefined
  #params: Record<string, string> | undefined
  #log: RequestLog | undefined
  /** Total deadline (performance.now() ms) set by a hook, if any. */
  deadline: number | undefined

  constructor(readonly ctx: RequestContext) {
    this.timings = { start: ctx.startTime }
  }

  get route(): string {
    return this.ctx.route?.name ?? ''
  }

  get params(): Readonly<Record<string, string>> {
    return (this.#params ??= decodeParams(this.ctx.params))
  }

  get clientIp(): string {
    return this.ctx.clientIp
  }

  get peerIp(): string {
    return this.ctx.peerIp
  }

  get method(): string {
    return this.ctx.method
  }

  get url(): URL {
    return (this.#url ??= requestUrl(this.ctx))
  }

  get log(): RequestLog {
    return (this.#log ??= new RequestLogger(this.ctx, this.ctx.generation.log))
  }

  annotate(fields: Record<string, unknown>): void {
    annotate(this.ctx, fields)
  }

  setBodyLimit(bytes: number): void {
    limitBody(this.ctx, bytes)
  }

  get headers(): Headers {
    if (this.#headers) return this.#headers
    if (this.#request) return (this.#headers = this.#request.headers)
    return (this.#headers = rawToHeaders(this.ctx.req.rawHeaders))
  }

  get request(): Request {
    if (this.#request) return this.#request
    this.#request = toWebRequest(this.ctx, this.headers)
    return this.#request
  }

  get upstream(): { group: string; server: string | undefined } | undefined {
    const group = this.ctx.upstreamGroup
    return group === undefined ? undefined : { group, server: this.ctx.server }
  }

  /** Hooks looked at (and may have changed) the request headers. */
  get headersTouched(): boolean {
    return this.#headers !== undefined
  }

  /** The request body as a Node stream when a hook materialized the Web Request; else undefined. */
  requestBody(): Readable | null | undefined {
    if (!this.#request) return undefined
    const body = this.#request.body
    if (this.#request.bodyUsed) throw new TypeError('a hook read the request body but gave the upstream none (set it in onUpstreamRequest)')
    return body ? Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>) : null
  }

  rewrite(pathAndQuery: string): void {
    const q = pathAndQuery.indexOf('?')
    const target = canonicalize(q < 0 ? pathAndQuery : pathAndQuery.slice(0, q))
    this.ctx.path = target.path
    if (q >= 0) this.ctx.query = pathAndQuery.slice(q + 1)
    this.#url = undefined
  }

  forward(group: string, init: Parameters<HookContext['forward']>[1]): Promise<Response> {
    return forwardWeb(this.ctx, group, {
      method: init.method ?? 'GET',
      path: init.path ?? this.ctx.target,
      headers: init.headers ?? new Headers(),
      body: init.body ?? null,
    }, { side: true })
  }

  setDeadline(ms: number): void {
    const at = performance.now() + ms
    this.deadline = this.deadline === undefined ? at : Math.min(this.deadline, at)
    this.ctx.onDeadline?.(this.deadline)
  }
}

export function decodeParams(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(params)) {
    try {
      out[k] = decodeURIComponent(v)
    } catch {
      out[k] = v
    }
  }
  return Object.freeze(out)
}

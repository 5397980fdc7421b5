/**
 * `ctx.forward(group, init?)` for handlers: sends a request to a server of the group
 * through its pool and returns the response as a Web `Response` with a streamed body.
 */
import { Readable } from 'node:stream'
import type { RequestContext } from '../context.js'
import type { ForwardInit, ForwardBody } from '../../src/config/types.js'
import { buildUpstreamHeaders, forwardedInfo } from '../forward/upstream-headers.js'
import { isHopByHop } from '../forward/hop-by-hop.js'
import { classifyUpstreamError } from '../forward/upstream-error.js'
import { nodeToWeb } from './node-to-web.js'
import { balancerEvent } from '../trace.js'

/** An upstream failure inside a handler; the handler runner maps it to 502/503/504. */
export class UpstreamFailedError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
    this.name = 'UpstreamFailedError'
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304])

export interface ForwardWebOptions {
  /** A side request (sub-request, mirror copy): not recorded as the request's upstream. */
  side?: boolean
}

export async function forwardWeb(ctx: RequestContext, groupName: string, init: Request | ForwardInit | undefined, options: ForwardWebOptions = {}): Promise<Response> {
  const group = ctx.generation.groups.get(groupName)
  if (!group) {
    throw new Error(`ctx.forward: unknown upstream '${groupName}' (known: ${[...ctx.generation.groups.keys()].join(', ') || 'none'})`)
  }
  const member = group.pick(ctx)
  if (ctx.trace !== undefined) ctx.trace.push({ ...balancerEvent(group, ctx, member, undefined), ...(options.side ? { side: true as const } : {}) })
  if (!member) throw new UpstreamFailedError(503, `no server available in upstream '${groupName}'`)
  if (!options.side) {
    ctx.upstreamGroup = groupName
    ctx.server = member.origin
  }

  let method = ctx.method
  let path = ctx.target
  let raw: string[] = ctx.req.rawHeaders
  let body: Readable | null = ctx.hasBody ? ctx.req : null
  if (init instanceof Request) {
    if (init.bodyUsed) throw new TypeError('ctx.forward: the request body was already read; pass { body } with a new one')
    const url = new URL(init.url)
    method = init.method
    path = url.pathname + url.search
    raw = flatten(init.headers)
    body = init.body ? Readable.fromWeb(init.body as import('node:stream/web').ReadableStream<Uint8Array>) : null
  } else if (init) {
    method = init.method ?? method
    path = init.path ?? path
    if (init.headers !== undefined) raw = flatten(new Headers(init.headers))
    if (init.body !== undefined) body = init.body === null ? null : toReadable(init.body)
  }
  const headers = buildUpstreamHeaders(
    raw, forwardedInfo(ctx),
    group.config.host, member.hostHeader, ctx.route?.requestHeaders,
  )
  member.state.inflight++
  member.state.requests++
  let settled = false
  const done = () => {
    if (!settled) member.state.inflight--
    settled = true
  }
  try {
    const result = await member.pool.request({ path, method, headers, body })
    if (ctx.trace !== undefined) ctx.trace.push({ type: 'attempt', attempt: 1, server: member.origin, outcome: `status ${result.statusCode}`, retry: undefined, ...(options.side ? { side: true as const } : {}) })
    result.body.once('close', done)
    const responseHeaders = new Headers()
    for (const [name, value] of Object.entries(result.headers)) {
      if (value === undefined || isHopByHop(name)) continue
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v)
    }
    const webBody = NULL_BODY.has(result.statusCode) ? null : nodeToWeb(result.body)
    if (webBody === null) result.body.resume()
    return new Response(webBody, { status: result.statusCode, headers: responseHeaders })
  } catch (err) {
    done()
    member.state.failures++
    const failure = classifyUpstreamError(err)
    if (ctx.trace !== undefined) ctx.trace.push({ type: 'attempt', attempt: 1, server: member.origin, outcome: `failed: ${failure.reason}`, retry: undefined, ...(options.side ? { side: true as const } : {}) })
    throw new UpstreamFailedError(failure.status, `${failure.reason} (${member.origin})`)
  }
}

function flatten(headers: Headers): string[] {
  const out: string[] = []
  for (const [name, value] of headers) if (name !== 'set-cookie') out.push(name, value)
  return out
}

function toReadable(body: ForwardBody): Readable {
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([typeof body === 'string' ? Buffer.from(body) : body])
  if (body instanceof ArrayBuffer) return Readable.from([new Uint8Array(body)])
  if (body instanceof ReadableStream) return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
  return Readable.fromWeb(new Response(body).body as import('node:stream/web').ReadableStream<Uint8Array>)
}

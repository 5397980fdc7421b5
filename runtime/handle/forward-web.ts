/**
 * `ctx.forward(group, init?)` for handlers: sends a request to a server of the group
 * through its pool and returns the response as a Web `Response` with a streamed body.
 * Failures count toward the group's passive health as forwarding's do; there are no retries
 * (the handler sees the failure and decides).
 */
import { Readable } from 'node:stream'
import type { RequestContext } from '../context.js'
import type { ForwardInit, ForwardBody } from '../../src/config/types.js'
import type { GroupMember, UpstreamGroup } from '../upstream/upstream-group.js'
import type { UpstreamHandler } from '../upstream-client/types.js'
import { buildUpstreamHeaders, forwardedInfo } from '../forward/upstream-headers.js'
import { stripHopByHop } from '../forward/response-headers.js'
import { classifyUpstreamError, codedError } from '../forward/upstream-error.js'
import { balancerEvent } from '../trace.js'
import { outcomeKind } from '../forward/retry-rules.js'
import { reportFailingStatus, reportPassiveFailure } from '../forward/passive-report.js'
import { headersToRaw } from './web-request.js'
import { hasNullBody, toWebHeaders } from '../pipeline/web-response-sink.js'

/** An upstream failure inside a handler; the handler runner maps it to 502/503/504. */
export class UpstreamFailedError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
    this.name = 'UpstreamFailedError'
  }
}

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
  let body: Readable | null = ctx.hasBody ? ctx.bodyStream : null
  if (init instanceof Request) {
    if (init.bodyUsed) throw new TypeError('ctx.forward: the request body was already read; pass { body } with a new one')
    const url = new URL(init.url)
    method = init.method
    path = url.pathname + url.search
    raw = headersToRaw(init.headers)
    body = init.body ? Readable.fromWeb(init.body as import('node:stream/web').ReadableStream<Uint8Array>) : null
  } else if (init) {
    method = init.method ?? method
    path = init.path ?? path
    if (init.headers !== undefined) raw = headersToRaw(new Headers(init.headers))
    if (init.body !== undefined) body = init.body === null ? null : toReadable(init.body)
  }
  const headers = buildUpstreamHeaders(
    raw, forwardedInfo(ctx),
    group.config.host, member.hostHeader, ctx.route?.requestHeaders,
  )
  member.state.inflight++
  member.state.requests++
  return new Promise<Response>((resolve, reject) => {
    member.pool.dispatch({ path, method, headers, body }, new WebForwardHandler(ctx, group, member, method, options.side === true, resolve, reject))
  })
}

const BODY_HIGH_WATER_MARK = 64 * 1024

/**
 * Turns the upstream client's callbacks into a Web Response whose body is a ReadableStream:
 * the upstream is paused while the stream's queue is full and resumed when the reader pulls;
 * cancelling the body aborts the exchange.
 */
class WebForwardHandler implements UpstreamHandler {
  #abort: ((err?: Error) => void) | undefined
  #resume: (() => void) | undefined
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined
  #responded = false
  /** The body stream is closed, errored or cancelled: nothing more goes into it. */
  #bodyDone = false
  #finished = false

  constructor(
    readonly ctx: RequestContext,
    readonly group: UpstreamGroup,
    readonly member: GroupMember,
    readonly method: string,
    readonly side: boolean,
    readonly resolve: (response: Response) => void,
    readonly reject: (err: Error) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort
  }

  onHeaders(status: number, raw: string[], resume: () => void): boolean {
    this.#resume = resume
    reportFailingStatus(this.group, this.member, this.ctx.generation.log, status)
    // Both throw (an unsupported Transfer-Encoding, a field Fetch refuses): onError follows.
    const headers = toWebHeaders(stripHopByHop(raw, status))
    let body: ReadableStream<Uint8Array> | null = null
    if (!hasNullBody(status, this.method)) {
      body = new ReadableStream<Uint8Array>({
        start: (controller) => void (this.#controller = controller),
        pull: () => this.#resume?.(),
        cancel: () => {
          this.#bodyDone = true
          this.#abort?.(codedError('SWITCHYARD_SINK_CLOSED', 'response body cancelled'))
        },
      }, new ByteLengthQueuingStrategy({ highWaterMark: BODY_HIGH_WATER_MARK }))
    }
    const response = new Response(body, { status, headers }) // a status Response refuses throws: onError follows
    if (this.ctx.trace !== undefined) this.#trace(`status ${status}`)
    this.#responded = true
    this.resolve(response)
    return true
  }

  onData(chunk: Buffer): boolean {
    const controller = this.#controller
    if (controller === undefined || this.#bodyDone) return true
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    return (controller.desiredSize ?? 1) > 0
  }

  onComplete(): void {
    this.#finish()
    if (this.#controller !== undefined && !this.#bodyDone) {
      this.#bodyDone = true
      this.#controller.close()
    }
  }

  onError(err: Error): void {
    this.#finish()
    if (this.#responded) {
      if (this.#controller !== undefined && !this.#bodyDone) {
        this.#bodyDone = true
        this.#controller.error(err)
      }
      return
    }
    this.member.state.failures++
    const failure = classifyUpstreamError(err)
    const kind = outcomeKind(err)
    if (kind !== undefined) reportPassiveFailure(this.group, this.member, this.ctx.generation.log, failure.reason, kind)
    if (this.ctx.trace !== undefined) this.#trace(`failed: ${failure.reason}`)
    this.reject(new UpstreamFailedError(failure.status, `${failure.reason} (${this.member.origin})`))
  }

  #finish(): void {
    if (this.#finished) return
    this.#finished = true
    this.member.state.inflight--
  }

  #trace(outcome: string): void {
    this.ctx.trace!.push({ type: 'attempt', attempt: 1, server: this.member.origin, outcome, retry: undefined, ...(this.side ? { side: true as const } : {}) })
  }
}

function toReadable(body: ForwardBody): Readable {
  if (typeof body === 'string' || body instanceof Uint8Array) return Readable.from([typeof body === 'string' ? Buffer.from(body) : body])
  if (body instanceof ArrayBuffer) return Readable.from([new Uint8Array(body)])
  if (body instanceof ReadableStream) return Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>)
  return Readable.fromWeb(new Response(body).body as import('node:stream/web').ReadableStream<Uint8Array>)
}

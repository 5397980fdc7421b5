/**
 * Watches a request body as it arrives, whoever reads it (the upstream, a handler's or hook's
 * Web Request, a retry's buffer, or nobody): an idle timeout (`server.bodyIdleTimeout`, nginx's
 * client_body_timeout), a byte limit (`ctx.setBodyLimit`, used by the bodyLimit middleware),
 * what an early answer does to the connection, and when to send `100 Continue`.
 *
 * It sits where the HTTP parser hands body bytes to the request (`push`), where a reader asks
 * for more (`_read`) and where the response head goes out (`writeHead`), on this one request and
 * response — so no stream is added in between. Every request with a body still to arrive gets
 * one; one whose body came whole with its head (the fast front's small POST) gets one only when a
 * limit is set (limitBody).
 *
 * - **Idle clock.** Runs only while the proxy wants data: it stops when the request's buffer is
 *   full (`push` returned false: the reader — a slow upstream, say — is behind, not the client)
 *   and starts again when the reader asks for more. On expiry: `408`.
 * - **Limit.** Past it: `413`.
 * - On `408`/`413`: the answer carries `Connection: close` (set on the real response, so it
 *   holds whatever writes the answer — an onError hook too) if no response has started, else
 *   the connection is closed. The upstream exchange is aborted, later body bytes are read and
 *   dropped (so the client, still sending, can read its answer), readers of the body get a
 *   RequestBodyError once the answer is out, and the connection is closed then — or after
 *   `LINGER_MS` if the client never takes the answer. The reason is logged (warn) and kept as
 *   the request's error in the access log.
 * - **Early answers.** A response head written while nobody reads the body and more than
 *   `DISCARD_MAX` bytes of it (or an unknown amount: chunked) are still to come closes the
 *   connection after the response (as Go's net/http does past 256 KB, and nginx on 413):
 *   keeping it would mean reading and dropping all of it first. A smaller rest is discarded
 *   by Node and the connection kept.
 * - **Discarded bodies.** Once the response is finished, Node drops what is left of an unread
 *   body (`req._dumped`) without calling `push`: the idle clock then watches the socket's byte
 *   count instead (`socket.bytesRead`, read at each expiry — no 'data' listener, which would take
 *   the socket off Node's native parser), and a client that stops sending is disconnected
 *   quietly (info): its request was answered, there is nothing to refuse.
 * - **`Expect: 100-continue`.** The listener defers the interim response (`expectContinue`): it
 *   is sent on the first read of the body, so a hook that refuses the request (401, 413) answers
 *   without ever inviting the body (RFC 9110 §10.1.1); Node then closes the connection.
 *
 * Node 20 internals this relies on (test/core/request-body.test.ts checks each one): the
 * parser delivers body bytes through the request's own `push` property, and stops doing so
 * once the request is `_dumped`; `push(null)` still ends it; `_read` is only called by readers
 * (and restarts the socket); an implicit head (`res.end()` alone) goes through the response's
 * own `writeHead`; a final response while `100 Continue` was not sent makes `writeHead` turn
 * keep-alive off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { RequestContext } from './context.js'
import { sendError } from './respond.js'

/** Unread body bytes past which an early answer closes the connection instead of discarding them. */
export const DISCARD_MAX = 64 * 1024
/**
 * How long a client gets to take its answer before the connection is cut (nginx's
 * lingering_timeout): after a 408/413 here, and in every lingering close (adapters/node/lingering-close.ts).
 */
export const LINGER_MS = 5000

/** Why a request body was refused; readers of the body see it as the stream's error. */
export class RequestBodyError extends Error {
  constructor(readonly status: 408 | 413, message: string) {
    super(message)
    this.name = 'RequestBodyError'
  }
}

const kGuard = Symbol('switchyard.bodyGuard')
const kContinue = Symbol('switchyard.expectContinue')

interface GuardedRequest extends IncomingMessage {
  [kGuard]: BodyGuard
  [kContinue]?: true
  /** Node: the response finished before the body was read; the parser drops the rest. */
  _dumped?: boolean
}

type WriteHead = (this: ServerResponse, ...args: unknown[]) => ServerResponse

interface GuardedResponse extends ServerResponse {
  [kGuard]: BodyGuard
}

// Shared by every guarded request (no closures per request): they find their guard on `this`.
function guardedPush(this: GuardedRequest, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
  return this[kGuard].push(chunk, encoding)
}

function guardedRead(this: GuardedRequest, size: number): void {
  this[kGuard].read(size)
}

function guardedWriteHead(this: GuardedResponse, ...args: unknown[]): ServerResponse {
  return this[kGuard].writeHead(args)
}

function guardedFinish(this: GuardedResponse): void {
  this[kGuard].answered()
}

function guardedClose(this: GuardedRequest): void {
  this[kGuard].stop()
}

/**
 * For the listener's 'checkContinue': the request expects `100 Continue`; the guard sends it when
 * the body is first read. (A request the runtime gives no guard — no body — is never sent one.)
 */
export function expectContinue(req: IncomingMessage): void {
  ;(req as GuardedRequest)[kContinue] = true
}

export class BodyGuard {
  #bytes = 0
  #limit = Infinity
  #timer: NodeJS.Timeout | undefined
  #linger: NodeJS.Timeout | undefined
  /** The proxy is reading: the idle clock runs. */
  #wanted: boolean
  /** A reader asked for the body (not Node discarding it). */
  #read = false
  /** The 408/413 given, if any. */
  #refused: RequestBodyError | undefined
  /** The response finished before the body did: the clock watches the socket. */
  #answered = false
  /** socket.bytesRead when the clock last looked. */
  #socketBytes = 0
  /** `100 Continue` is owed on the first read. */
  #continue: boolean
  readonly #req: GuardedRequest
  /** The client's response (not a hook pipeline's stand-in for it). */
  readonly #res: GuardedResponse
  readonly #push: IncomingMessage['push']
  readonly #readBody: IncomingMessage['_read']
  readonly #writeHead: WriteHead
  readonly #socket: Socket | null

  constructor(readonly ctx: RequestContext, readonly idleMs: number) {
    const req = (this.#req = ctx.req as GuardedRequest)
    const res = (this.#res = ctx.res as GuardedResponse)
    this.#push = req.push
    this.#readBody = req._read
    this.#writeHead = res.writeHead as WriteHead
    this.#socket = req.socket
    this.#continue = req[kContinue] === true
    // Waiting for `100 Continue`, the client is silent by design: the clock starts on the first read.
    this.#wanted = !this.#continue
    // Installed late (a limit set by a hook): bytes already buffered count — all of them when
    // the body came whole with its head (fast front), even if a reader has taken some since.
    this.#bytes = req.complete ? Math.max(req.readableLength, Number(req.headers['content-length']) || 0) : req.readableLength
    req[kGuard] = this
    res[kGuard] = this
    req.push = guardedPush
    req._read = guardedRead
    ;(res as ServerResponse).writeHead = guardedWriteHead as ServerResponse['writeHead']
    // Each is emitted once: plain `on` spares the once-wrapper per request.
    res.on('finish', guardedFinish)
    req.on('close', guardedClose)
    if (this.#wanted && !req.complete) this.#arm()
  }

  /** Body bytes received so far (what the parser pushed). */
  get bytes(): number {
    return this.#bytes
  }

  /** Refuse the body past `bytes` (the smallest limit wins); refuses at once if already past. */
  limit(bytes: number): void {
    if (!(bytes >= 0)) throw new TypeError(`setBodyLimit: expected a number of bytes ≥ 0, got ${bytes}`)
    this.#limit = Math.min(this.#limit, bytes)
    if (this.#bytes > this.#limit) this.#refuse(413, `request body larger than ${this.#limit} bytes`)
  }

  push(chunk: Buffer | null, encoding?: BufferEncoding): boolean {
    const req = this.#req
    // Refused: the rest is read and dropped — its end too, so no reader takes the part it got
    // for a whole body (they get the RequestBodyError).
    if (this.#refused !== undefined) return true
    if (chunk === null) {
      this.stop()
      return this.#push.call(req, chunk, encoding)
    }
    this.#bytes += chunk.length
    if (this.#bytes > this.#limit) {
      this.#refuse(413, `request body larger than ${this.#limit} bytes`)
      return true
    }
    const more = this.#push.call(req, chunk, encoding)
    this.#wanted = more
    if (more && this.#timer !== undefined) this.#timer.refresh()
    return more
  }

  read(size: number): void {
    const req = this.#req
    if (req._dumped !== true && this.#refused === undefined) {
      this.#read = true
      if (this.#continue) {
        this.#continue = false
        const res = this.#res
        if (!res.headersSent && !res.writableEnded) res.writeContinue()
      }
      if (!this.#wanted && !this.#answered && !req.complete) {
        this.#wanted = true
        this.#arm() // (re)starts the clock, also after it fired while nobody read
      }
    }
    this.#readBody.call(req, size)
  }

  /** The response head is going out: while nobody reads the body, a large rest closes the connection. */
  writeHead(args: unknown[]): ServerResponse {
    const res = this.#res
    this.#continue = false // a final status instead: Node closes the connection (the client may send the body anyway)
    if (!this.#read && this.#refused === undefined && !this.#req.complete && this.#unread() > DISCARD_MAX) res.shouldKeepAlive = false
    return this.#writeHead.apply(res, args)
  }

  /** The response finished (res 'finish'). */
  answered(): void {
    const req = this.#req
    if (this.#refused !== undefined) {
      // The refusal is out: readers of the body fail, and destroying the unfinished request
      // closes the connection.
      clearTimeout(this.#linger)
      return this.#cut(this.#refused)
    }
    if (req.complete || req.destroyed) return this.stop()
    this.#answered = true
    if (this.#timer === undefined) return
    this.#socketBytes = this.#socket?.bytesRead ?? 0
    this.#timer.refresh()
  }

  /** The body ended or the request is gone: no more clocks. */
  stop(): void {
    clearTimeout(this.#timer)
    clearTimeout(this.#linger)
    this.#timer = this.#linger = undefined
  }

  /** Body bytes still to come: Content-Length minus what arrived, or Infinity without a length. */
  #unread(): number {
    const length = Number(this.#req.headers['content-length'])
    return Number.isFinite(length) ? length - this.#bytes : Infinity
  }

  #arm(): void {
    if (this.idleMs <= 0) return
    if (this.#timer !== undefined) return void this.#timer.refresh()
    this.#timer = setTimeout(() => this.#expired(), this.idleMs)
    this.#timer.unref()
  }

  #expired(): void {
    const req = this.#req
    if (this.#refused !== undefined || req.destroyed || req.complete) return
    if (this.#answered) return this.#discardIdle()
    if (!this.#wanted) return
    this.#refuse(408, `client sent no request body data for ${this.idleMs} ms`)
  }

  /** Answered, the rest of the body going nowhere: the client must keep sending it or go. */
  #discardIdle(): void {
    const socket = this.#socket
    const now = socket?.bytesRead ?? 0
    // Bytes arrived, or a reader still holding the body is behind (the socket is paused for it).
    if (now > this.#socketBytes || (this.#req._dumped !== true && !this.#wanted)) {
      this.#socketBytes = now
      this.#timer?.refresh()
      return
    }
    const ctx = this.ctx
    ctx.generation.log.info(`connection closed: no request body data for ${this.idleMs} ms after the request was answered`, {
      route: ctx.route?.name, method: ctx.method, target: ctx.target, clientIp: ctx.clientIp,
    })
    socket?.destroy()
  }

  #refuse(status: 408 | 413, reason: string): void {
    if (this.#refused !== undefined) return
    const error = (this.#refused = new RequestBodyError(status, reason))
    this.stop()
    const ctx = this.ctx
    const res = this.#res
    ctx.generation.log.warn(`request refused (${status}): ${reason}`, {
      route: ctx.route?.name, method: ctx.method, target: ctx.target, clientIp: ctx.clientIp,
    })
    if (!res.headersSent && !res.destroyed && !ctx.res.headersSent) {
      // Whatever writes the answer (sendError here, or an onError hook of the route), the
      // connection closes after it: the rest of the body is never read.
      res.shouldKeepAlive = false
      sendError(ctx, status, reason)
      ctx.onClientAbort?.() // stops the upstream exchange, if any
      // Closed once the answer is out (answered()); if the client never takes it, now and then.
      this.#linger = setTimeout(() => this.#cut(error), LINGER_MS)
      this.#linger.unref()
      return
    }
    // A response is on its way (or done): the connection cannot carry an answer any more.
    ctx.error = `${reason} (after the response started)`
    this.#cut(error)
  }

  #cut(error: RequestBodyError): void {
    this.ctx.onClientAbort?.()
    this.#req.destroy(error)
    this.#socket?.destroy()
  }
}

/**
 * The front refused `req`'s body after the request was handed over (a framing error llhttp found
 * late; its answer is written): the upstream exchange stops at once, so nothing more of the
 * request — not even its head, if it has not gone yet — reaches the upstream.
 */
export function bodyBroken(req: IncomingMessage, reason: string): void {
  const guard = (req as Partial<GuardedRequest>)[kGuard]
  if (guard === undefined) return
  guard.ctx.error ??= reason
  guard.ctx.onClientAbort?.()
}

/** At the start of a request with a body. */
export function guardBody(ctx: RequestContext): void {
  ctx.bodyGuard = new BodyGuard(ctx, ctx.generation.config.server.bodyIdleTimeout ?? 0)
}

/** `ctx.setBodyLimit(bytes)`: no effect without a body. */
export function limitBody(ctx: RequestContext, bytes: number): void {
  if (!ctx.hasBody) return
  ;(ctx.bodyGuard ??= new BodyGuard(ctx, 0)).limit(bytes)
}

/**
 * Runs a route's TypeScript handler: builds the Web Request and the handler's ctx, enforces
 * the route's handlerTimeout, and turns whatever happens into a response for this request
 * only — a throw is a 500 (logged with its stack, which points into proxy.config.ts), a
 * timeout a 504, a failed ctx.forward its 502/503/504.
 */
import type { RequestContext } from '../context.js'
import type { HandlerContext, ForwardInit, Handler } from '../../src/config/types.js'
import type { ProxyError } from '../../src/config/hooks.js'
import type { RuntimeLog } from '../log.js'
import { toWebRequest } from './web-request.js'
import { failedWebResponse, sendWebResponse, isResponseLike, type ResponseLike } from './send-web-response.js'
import { forwardWeb, UpstreamFailedError } from './forward-web.js'
import { sendError } from '../respond.js'
import { mapStack } from '../stack-map.js'
import { decodeParams } from '../pipeline/hook-context.js'
import { RequestLogger, annotate } from '../log.js'
import { RequestBodyError } from '../body-guard.js'

class HandlerTimeoutError extends Error {}

export async function runHandler(ctx: RequestContext, handler: Handler, timeoutMs: number, log: RuntimeLog): Promise<void> {
  let response: ResponseLike
  try {
    response = await callHandler(ctx, handler, timeoutMs)
  } catch (err) {
    const failure = handlerFailure(ctx, err, log)
    return sendError(ctx, failure.status, failure.reason, failure.status === 503 ? ['retry-after', '1'] : undefined)
  }
  try {
    await sendWebResponse(ctx, response, ctx.route!.responseHeaders)
  } catch (err) {
    failedWebResponse(ctx, err, 'handler response failed', 500)
  }
}

/** Calls the handler with the route's timeout; resolves with its Response or rejects. */
export async function callHandler(ctx: RequestContext, handler: Handler, timeoutMs: number, request?: Request): Promise<ResponseLike> {
  let timer: NodeJS.Timeout | undefined
  // Once the client is gone (or answered by a deadline) the handler is abandoned: stop its clock.
  const abandon = () => clearTimeout(timer)
  ctx.res.once('close', abandon)
  try {
    const req = request ?? toWebRequest(ctx)
    const hctx = makeHandlerContext(ctx, req)
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HandlerTimeoutError(`handler took longer than ${timeoutMs} ms`)), timeoutMs)
    })
    const response: unknown = await Promise.race([Promise.resolve().then(() => handler(req, hctx)), timeout])
    if (!isResponseLike(response)) {
      throw new TypeError(`handler of route '${ctx.route!.name}' returned ${response === undefined ? 'undefined' : typeof response}, expected a Response`)
    }
    return response
  } finally {
    clearTimeout(timer)
    ctx.res.off('close', abandon)
  }
}

/** What a handler's failure means for the client (504 timeout, the upstream's 5xx, else 500); logged. */
export function handlerFailure(ctx: RequestContext, err: unknown, log: RuntimeLog): ProxyError {
  const route = ctx.route!.name
  // The request body was refused while the handler read it: already answered and logged.
  if (err instanceof RequestBodyError) return { status: err.status, reason: err.message, cause: err }
  if (err instanceof HandlerTimeoutError) {
    log.error(`handler timed out: ${err.message}`, { route })
    return { status: 504, reason: err.message, cause: err }
  }
  if (err instanceof UpstreamFailedError) {
    log.error(`upstream request failed: ${err.message}`, { route })
    return { status: err.status, reason: err.message, cause: err }
  }
  log.error(`handler threw: ${mapStack((err as Error)?.stack ?? String(err))}`, { route })
  return { status: 500, reason: `handler threw: ${(err as Error)?.message ?? String(err)}`, cause: err }
}

function makeHandlerContext(ctx: RequestContext, request: Request): HandlerContext {
  let decoded: Record<string, string> | undefined
  let logger: RequestLogger | undefined
  return {
    get params() {
      return (decoded ??= decodeParams(ctx.params))
    },
    clientIp: ctx.clientIp,
    peerIp: ctx.peerIp,
    route: ctx.route!.name,
    get log() {
      return (logger ??= new RequestLogger(ctx, ctx.generation.log))
    },
    annotate: (fields: Record<string, unknown>) => annotate(ctx, fields),
    forward: (group: string, init?: Request | ForwardInit) => forwardWeb(ctx, group, init ?? request),
  }
}

/**
 * Runs a route's TypeScript handler: builds the Web Request and the handler's ctx, enforces
 * the route's handlerTimeout, and turns whatever happens into a response for this request
 * only — a throw is a 500 (logged with its stack, which points into proxy.config.ts), a
 * timeout a 504, a failed ctx.forward its 502/503/504.
 */
import type { RequestContext } from '../context.js'
import type { HandlerContext, ForwardInit, Handler } from '../../src/config/types.js'
import type { RuntimeLog } from '../log.js'
import { toWebRequest } from './web-request.js'
import { sendWebResponse, isResponseLike } from './send-web-response.js'
import { forwardWeb, UpstreamFailedError } from './forward-web.js'
import { sendError } from '../respond.js'
import { mapStack } from '../stack-map.js'

class HandlerTimeoutError extends Error {}

export async function runHandler(ctx: RequestContext, handler: Handler, timeoutMs: number, log: RuntimeLog): Promise<void> {
  const route = ctx.route!
  let timer: NodeJS.Timeout | undefined
  try {
    const request = toWebRequest(ctx)
    const hctx = makeHandlerContext(ctx, request)
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HandlerTimeoutError(`handler took longer than ${timeoutMs} ms`)), timeoutMs)
    })
    const response: unknown = await Promise.race([Promise.resolve().then(() => handler(request, hctx)), timeout])
    clearTimeout(timer)
    if (!isResponseLike(response)) {
      throw new TypeError(`handler of route '${route.name}' returned ${response === undefined ? 'undefined' : typeof response}, expected a Response`)
    }
    await sendWebResponse(ctx, response, route.responseHeaders)
  } catch (err) {
    clearTimeout(timer)
    if (ctx.res.headersSent) {
      ctx.error = `handler response failed: ${(err as Error).message}`
      ctx.res.destroy()
      return
    }
    if (err instanceof HandlerTimeoutError) {
      log.error(`handler timed out: ${err.message}`, { route: route.name })
      return sendError(ctx, 504, err.message)
    }
    if (err instanceof UpstreamFailedError) {
      log.error(`upstream request failed: ${err.message}`, { route: route.name })
      return sendError(ctx, err.status, err.message, err.status === 503 ? ['retry-after', '1'] : undefined)
    }
    log.error(`handler threw: ${mapStack((err as Error)?.stack ?? String(err))}`, { route: route.name })
    sendError(ctx, 500, `handler threw: ${(err as Error)?.message ?? String(err)}`)
  }
}

function makeHandlerContext(ctx: RequestContext, request: Request): HandlerContext {
  let decoded: Record<string, string> | undefined
  return {
    get params() {
      return (decoded ??= decodeParams(ctx.params))
    },
    clientIp: ctx.clientIp,
    route: ctx.route!.name,
    forward: (group: string, init?: Request | ForwardInit) => forwardWeb(ctx, group, init ?? request),
  }
}

function decodeParams(params: Record<string, string>): Record<string, string> {
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

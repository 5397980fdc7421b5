/**
 * Serves an `Upgrade` request that the listener let through (HTTP/1.1, no body, not h2c,
 * checks passed). It is routed like any request; only a `forward` route tunnels it
 * (forward/tunnel.ts) — a cached one too, the cache never sees a tunnel. No route, or a
 * redirect / respond / handle route: not a tunnel, and the caller serves it as a plain request.
 *
 * Hooks on a tunnelled route: `onRequest` runs and may answer instead (an auth gateway refusing
 * a WebSocket; the answer goes through `onResponse` like any early answer), `selectUpstream`
 * may choose the group or server, header changes made by these hooks are sent upstream, and
 * `onLog` runs when the tunnel closes. `onUpstreamRequest`, `onUpstreamResponse`, `onError`
 * and `onResponse` (on the 101 or a relayed refusal) do not run on tunnels.
 */
import type { Socket } from 'node:net'
import type { RequestContext } from '../context.js'
import type { RuntimeLog } from '../log.js'
import type { RouteHooks } from '../pipeline/route-hooks.js'
import type { RouteAction } from '../resolved-config.js'
import { BadTargetError } from '../canonical.js'
import { setRequestTarget } from '../request-target.js'
import { upstreamTarget } from '../router/rewrite.js'
import { Tunnel } from '../forward/tunnel.js'
import { RequestHookContext } from '../pipeline/hook-context.js'
import { chooseUpstream } from '../pipeline/choose-upstream.js'
import { runOnRequest, runOnResponse, HookError } from '../pipeline/run-hooks.js'
import { mapStack } from '../stack-map.js'
import { headersToRaw } from '../handle/web-request.js'

type ForwardAction = Extract<RouteAction, { type: 'forward' }>

/**
 * Routes the request; when its route forwards, takes the socket and returns true (then `done`
 * is called once, when the tunnel or the HTTP answer is over). Returns false, having touched
 * nothing, for a request to serve as a plain one.
 */
export function serveUpgrade(ctx: RequestContext, socket: Socket, head: Buffer, log: RuntimeLog, done: (bytesIn?: number) => void): boolean {
  try {
    setRequestTarget(ctx)
  } catch (err) {
    if (err instanceof BadTargetError) return false // the plain path answers 400
    throw err
  }
  const match = ctx.generation.router.match(ctx)
  if (match === undefined) return false
  const action = match.route.action
  if (action.type !== 'forward') return false
  ctx.route = match.route
  ctx.params = match.params
  // The one Upgrade field the listener checked (upgrade-request.ts's tunnelProtocol: present, not h2c).
  const tunnel = new Tunnel(ctx, socket, head, ctx.header('upgrade')!.trim(), log, done)
  const hooks = ctx.generation.routeHooks[match.route.index]
  if (hooks !== undefined) {
    void startWithHooks(ctx, hooks, tunnel, action, log)
    return true
  }
  try {
    tunnel.start(ctx.generation.groups.get(action.upstream)!, upstreamTarget(ctx.path, ctx.params, ctx.query, action.rewrite))
  } catch (err) {
    internalError(tunnel, err, log)
  }
  return true
}

async function startWithHooks(ctx: RequestContext, hooks: RouteHooks, tunnel: Tunnel, action: ForwardAction, log: RuntimeLog): Promise<void> {
  const hctx = new RequestHookContext(ctx)
  ctx.hooks = hctx
  ctx.routeHooks = hooks
  try {
    const early = await runOnRequest(hooks, hctx, log)
    if (early) return await tunnel.respond(hooks.onResponse.length > 0 ? await runOnResponse(hooks, hctx, early, log) : early)
    if (tunnel.ended) return // the client left while the hooks ran
    const { group, server } = await chooseUpstream(hooks, hctx, action.upstream, log)
    if (tunnel.ended) return
    const rawHeaders = hctx.headersTouched ? headersToRaw(hctx.headers) : undefined
    tunnel.start(ctx.generation.groups.get(group)!, upstreamTarget(ctx.path, ctx.params, ctx.query, action.rewrite), { rawHeaders, server })
  } catch (err) {
    if (err instanceof HookError) return tunnel.fail(500, err.message)
    internalError(tunnel, err, log)
  }
}

function internalError(tunnel: Tunnel, err: unknown, log: RuntimeLog): void {
  log.error(`internal error: ${mapStack((err as Error)?.stack ?? String(err))}`, { route: tunnel.ctx.route?.name })
  tunnel.fail(500, `internal error: ${(err as Error)?.message}`)
}


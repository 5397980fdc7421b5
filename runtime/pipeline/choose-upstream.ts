/** Where a forwarded request goes: the route's group, or the one a `selectUpstream` hook chose. */
import type { RuntimeLog } from '../log.js'
import type { RequestHookContext } from './hook-context.js'
import type { RouteHooks } from './route-hooks.js'
import { runSelectUpstream, HookError } from './run-hooks.js'

export interface UpstreamChoice {
  /** A group of the request's generation. */
  group: string
  /** A server of that group to use instead of the balancer's pick. */
  server: string | undefined
}

/**
 * Runs the route's `selectUpstream` hooks (if any); without a choice, `routeGroup`. Throws a
 * HookError when a hook names a group the generation does not have.
 */
export async function chooseUpstream(hooks: RouteHooks, hctx: RequestHookContext, routeGroup: string, log: RuntimeLog): Promise<UpstreamChoice> {
  if (hooks.selectUpstream.length === 0) return { group: routeGroup, server: undefined }
  const choice = await runSelectUpstream(hooks, hctx, log)
  if (!choice) return { group: routeGroup, server: undefined }
  const groups = hctx.ctx.generation.groups
  if (!groups.has(choice.group)) {
    throw new HookError('selectUpstream', 'selectUpstream', new Error(`unknown upstream '${choice.group}' (known: ${[...groups.keys()].join(', ')})`))
  }
  return { group: choice.group, server: choice.server }
}

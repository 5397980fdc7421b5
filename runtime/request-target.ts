/** The request target as routing sees it, set on the context once per request. */
import type { RequestContext } from './context.js'
import { canonicalize } from './canonical.js'

/**
 * Canonicalizes the target into `ctx.path` and `ctx.query` and sets `ctx.host` (an absolute-form
 * authority wins over Host). Throws BadTargetError for a target to answer with 400.
 */
export function setRequestTarget(ctx: RequestContext): void {
  const target = canonicalize(ctx.req.url ?? '/')
  ctx.path = target.path
  ctx.query = target.query
  ctx.setHost(target.authority ?? ctx.hostHeader)
}

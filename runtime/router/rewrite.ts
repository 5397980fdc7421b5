/** Applies a route's path rewrite; the result is canonicalized again like any request path. */
import type { ResolvedRewrite, RouteAction } from '../resolved-config.js'
import { canonicalize } from '../canonical.js'
import { fillTemplate, type PathParams } from './path-pattern.js'

/** The path and query a forward route sends upstream: the route's rewrite (if any) applied to the canonical path. */
export function upstreamTarget(path: string, params: PathParams, query: string, rewrite: ResolvedRewrite | undefined): string {
  const rewritten = rewrite ? rewritePath(path, params, rewrite) : path
  return query === '' ? rewritten : `${rewritten}?${query}`
}

export function rewritePath(path: string, params: PathParams, rewrite: ResolvedRewrite): string {
  let out = path
  if (rewrite.stripPrefix && (out === rewrite.stripPrefix || out.startsWith(`${rewrite.stripPrefix}/`))) {
    out = out.slice(rewrite.stripPrefix.length) || '/'
  }
  if (rewrite.path) out = fillTemplate(rewrite.path, params)
  if (rewrite.replace) out = out.replace(rewrite.replace.pattern, rewrite.replace.with)
  if (rewrite.addPrefix) out = rewrite.addPrefix + (out === '/' ? '/' : out)
  if (!out.startsWith('/')) out = `/${out}`
  return canonicalize(out).path
}

/** A redirect route's Location: its template filled from the params, plus the query when kept. */
export function redirectLocation(action: Extract<RouteAction, { type: 'redirect' }>, params: PathParams, query: string): string {
  const location = fillTemplate(action.to, params)
  if (!action.preserveQuery || query === '') return location
  return `${location}${location.includes('?') ? '&' : '?'}${query}`
}

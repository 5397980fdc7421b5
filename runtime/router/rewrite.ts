/** Applies a route's path rewrite; the result is canonicalized again like any request path. */
import type { ResolvedRewrite } from '../resolved-config.js'
import { canonicalize } from '../canonical.js'
import { fillTemplate, type PathParams } from './path-pattern.js'

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

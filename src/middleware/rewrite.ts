/**
 * `rewrite()`: change the path sent upstream, through `ctx.rewrite` (the runtime canonicalizes
 * the result again; the query string is kept unless the replacement has its own).
 *
 * ```ts
 * import { rewrite } from 'switchyard/middleware'
 * routes: [
 *   { match: { path: '/api/*' }, to: 'api', use: [rewrite({ stripPrefix: '/api' })] },            // /api/users → /users
 *   { match: { path: '/old/*' }, to: 'api', use: [rewrite({ replace: [/^\/old\/(.*)$/, '/v2/$1'] })] },
 * ]
 * ```
 * Runs in `onRequest`, so later hooks (and `ctx.url`) see the rewritten path. `stripPrefix` only
 * strips whole segments (`/api` strips `/api` and `/api/x`, not `/apix`); it runs before `replace`.
 */
import type { HookContext, Middleware } from '../config/hooks.js'

export interface RewriteOptions {
  /** Remove this leading path prefix (whole segments); `/api` → `/`. */
  stripPrefix?: string
  /** A RegExp replacement on the path (not the query): `[/^\/old/, '/new']`; `$1` etc. work. */
  replace?: [RegExp, string]
}

/** The rewritten path, or undefined when nothing changes. Exported for tests. */
export function rewritePathname(path: string, options: RewriteOptions): string {
  let out = path
  const prefix = options.stripPrefix?.replace(/\/+$/, '')
  if (prefix) {
    if (out === prefix) out = '/'
    else if (out.startsWith(prefix + '/')) out = out.slice(prefix.length)
  }
  if (options.replace) out = out.replace(options.replace[0], options.replace[1])
  if (!out.startsWith('/')) out = '/' + out
  return out
}

export function rewrite(options: RewriteOptions): Middleware {
  if (options.stripPrefix !== undefined && !options.stripPrefix.startsWith('/')) {
    throw new TypeError(`rewrite(): stripPrefix must start with '/', got '${options.stripPrefix}'`)
  }
  if (options.replace !== undefined && !(Array.isArray(options.replace) && options.replace[0] instanceof RegExp && typeof options.replace[1] === 'string')) {
    throw new TypeError('rewrite(): replace must be [RegExp, string]')
  }
  return {
    name: 'rewrite',
    onRequest(ctx: HookContext) {
      const path = ctx.url.pathname
      const next = rewritePathname(path, options)
      if (next !== path) ctx.rewrite(next)
    },
  }
}

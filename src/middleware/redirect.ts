/**
 * `redirect()` answers every request with a redirect; `httpsRedirect()` sends plain-HTTP
 * clients to the same URL on https.
 *
 * ```ts
 * import { redirect, httpsRedirect } from 'switchyard/middleware'
 * use: [httpsRedirect({ trustProxy: ['10.0.0.0/8'] })]                 // behind a TLS-terminating load balancer
 * routes: [{ match: { path: '/docs/*' }, to: 'web', use: [redirect({ to: 'https://docs.example.com/:splat', status: 301 })] }]
 * ```
 * `redirect`: `to` is a path or absolute URL and may use the route's params (`:name`, `:splat`),
 * or a function of the context; the query string is appended unless `preserveQuery: false`.
 *
 * `httpsRedirect`: `Location: https://host/path?query` (the Host's port dropped, or replaced by
 * `port`), `301` for GET/HEAD and `308` for other methods (so the method and body are kept).
 * Requests that already arrived over https are left alone: the scheme of `ctx.url` (which, with
 * the global `trustProxy`, is a trusted proxy's `X-Forwarded-Proto`), or — with this
 * middleware's own `trustProxy` (as in `ipFilter`) — `X-Forwarded-Proto: https` from a peer it
 * trusts (the rightmost value, the one the nearest proxy set, counts).
 */
import type { HookContext, Middleware } from '../config/hooks.js'
import { parseIp, type TrustProxy } from './ip-filter.js'
import { ownTrust } from './util.js'

const STATUSES = new Set([301, 302, 303, 307, 308])

export interface RedirectOptions {
  to: string | ((ctx: HookContext) => string)
  /** 301, 302 (default), 303, 307 or 308. */
  status?: number
  /** Append the request's query string (default true; not for function targets). */
  preserveQuery?: boolean
}

function redirectResponse(status: number, location: string): Response {
  return new Response(`Redirecting to ${location}`, { status, headers: { location, 'content-type': 'text/plain; charset=utf-8' } })
}

export function fillParams(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    const value = params[name]
    if (value === undefined) return whole
    return name === 'splat' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value)
  })
}

export function redirect(options: RedirectOptions): Middleware {
  const status = options.status ?? 302
  if (!STATUSES.has(status)) throw new TypeError(`redirect(): status must be 301, 302, 303, 307 or 308, got ${status}`)
  const { to } = options
  if (typeof to !== 'function' && (typeof to !== 'string' || to === '')) throw new TypeError('redirect(): `to` must be a path, a URL or a function')
  const preserveQuery = options.preserveQuery ?? true
  return {
    name: 'redirect',
    onRequest(ctx) {
      if (typeof to === 'function') return redirectResponse(status, to(ctx))
      let location = fillParams(to, ctx.params)
      const query = ctx.url.search
      if (preserveQuery && query) location += (location.includes('?') ? '&' : '?') + query.slice(1)
      return redirectResponse(status, location)
    },
  }
}

export interface HttpsRedirectOptions {
  /** Believe `X-Forwarded-Proto` from these peers (addresses/CIDRs/names) or this many hops. Default: the global `trustProxy`. */
  trustProxy?: TrustProxy
  /** The https port to redirect to, default 443 (omitted from the URL). */
  port?: number
}

/** The https URL for this request (exported for tests). */
export function httpsLocation(url: URL, port = 443): string {
  const host = url.hostname // IPv6 keeps its brackets
  return `https://${host}${port === 443 ? '' : `:${port}`}${url.pathname}${url.search}`
}

export function httpsRedirect(options: HttpsRedirectOptions = {}): Middleware {
  const trust = ownTrust(options.trustProxy)
  const port = options.port ?? 443
  return {
    name: 'httpsRedirect',
    onRequest(ctx) {
      if (ctx.url.protocol === 'https:') return undefined
      const peer = trust && parseIp(ctx.peerIp)
      if (trust && peer && trust(peer, 0)) {
        const proto = ctx.headers.get('x-forwarded-proto')
        const nearest = proto?.split(',').at(-1)?.trim().toLowerCase()
        if (nearest === 'https') return undefined
      }
      const status = ctx.method === 'GET' || ctx.method === 'HEAD' ? 301 : 308
      return redirectResponse(status, httpsLocation(ctx.url, port))
    },
  }
}

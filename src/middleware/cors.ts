/**
 * `cors()`: Cross-Origin Resource Sharing. Preflights (`OPTIONS` with
 * `Access-Control-Request-Method`) are answered `204` by the proxy; other requests go on and
 * their responses get `Access-Control-Allow-Origin` (and the other headers) added.
 *
 * ```ts
 * import { cors } from 'switchyard/middleware'
 * use: [cors({
 *   origin: ['https://app.example.com', /\.example\.dev$/],
 *   credentials: true,
 *   exposedHeaders: ['x-request-id'],
 *   maxAge: '10m',
 * })]
 * ```
 * `Access-Control-Allow-Origin` is `*` only for `origin: '*'` without credentials; otherwise it
 * is the request's own origin (when allowed) and responses get `Vary: Origin`. A disallowed
 * origin gets no CORS headers (the browser then blocks the response); its preflight is still
 * answered `204`, without them. Requests without `Origin` are not CORS requests and pass untouched.
 */
import type { HookContext, Middleware } from '../config/hooks.js'
import { appendToken, durationOption, editHeaders } from './util.js'

export type OriginOption = '*' | string | readonly (string | RegExp)[] | RegExp | ((origin: string) => boolean)

export interface CorsOptions {
  /** Allowed origins, default '*'. Strings compare exactly (`https://a.example:8443`). */
  origin?: OriginOption
  /** Default GET, HEAD, PUT, PATCH, POST, DELETE. */
  methods?: string[]
  /** Default: whatever the preflight asks for (`Access-Control-Request-Headers` echoed). */
  allowedHeaders?: string[]
  /** Response headers scripts may read (`Access-Control-Expose-Headers`), default none. */
  exposedHeaders?: string[]
  /** Allow cookies/credentials, default false. */
  credentials?: boolean
  /** How long browsers may cache a preflight (ms or '10m'; sent in seconds), default not sent. */
  maxAge?: number | string
  /** Status for answered preflights, default 204. */
  preflightStatus?: number
}

const PREFLIGHT = 'cors:preflight'

function compileOrigin(origin: OriginOption): (o: string) => boolean {
  if (typeof origin === 'function') return origin
  if (origin instanceof RegExp) return (o) => origin.test(o)
  if (typeof origin === 'string') return origin === '*' ? () => true : (o) => o === origin
  const list = [...origin]
  return (o) => list.some((e) => (typeof e === 'string' ? e === o : e.test(o)))
}

export function cors(options: CorsOptions = {}): Middleware {
  const originOpt = options.origin ?? '*'
  const anyOrigin = originOpt === '*'
  const allowed = compileOrigin(originOpt)
  const credentials = options.credentials === true
  const methods = (options.methods ?? ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']).map((m) => m.toUpperCase()).join(', ')
  const allowedHeaders = options.allowedHeaders?.join(', ')
  const exposed = options.exposedHeaders?.length ? options.exposedHeaders.join(', ') : undefined
  const maxAge = options.maxAge === undefined ? undefined : String(Math.floor(durationOption(options.maxAge, 'cors(): maxAge') / 1000))
  const preflightStatus = options.preflightStatus ?? 204
  // '*' is only literal without credentials; else the request's origin is echoed and varies.
  const literalStar = anyOrigin && !credentials

  /** The Access-Control-Allow-Origin value for this request, or undefined when not allowed. */
  const allowOrigin = (origin: string): string | undefined => {
    if (!allowed(origin)) return undefined
    return literalStar ? '*' : origin
  }

  return {
    name: 'cors',
    onRequest(ctx: HookContext) {
      if (ctx.method !== 'OPTIONS') return undefined
      const h = ctx.headers
      const origin = h.get('origin')
      const requestMethod = h.get('access-control-request-method')
      if (origin === null || requestMethod === null) return undefined
      const out = new Headers()
      if (!literalStar) out.set('vary', 'Origin')
      const value = allowOrigin(origin)
      if (value !== undefined) {
        out.set('access-control-allow-origin', value)
        if (credentials) out.set('access-control-allow-credentials', 'true')
        out.set('access-control-allow-methods', methods)
        const requested = h.get('access-control-request-headers')
        if (allowedHeaders !== undefined) out.set('access-control-allow-headers', allowedHeaders)
        else if (requested) {
          out.set('access-control-allow-headers', requested)
          appendToken(out, 'vary', 'Access-Control-Request-Headers')
        }
        if (maxAge !== undefined) out.set('access-control-max-age', maxAge)
      }
      out.set('content-length', '0')
      ctx.state[PREFLIGHT] = true
      return new Response(null, { status: preflightStatus, headers: out })
    },
    onResponse(ctx: HookContext, res: Response) {
      const origin = ctx.headers.get('origin')
      if (origin === null) return undefined
      // Answered preflights already carry their headers.
      if (ctx.state[PREFLIGHT] === true) return undefined
      const value = allowOrigin(origin)
      return editHeaders(res, (h) => {
        if (!literalStar) appendToken(h, 'vary', 'Origin')
        if (value !== undefined) {
          h.set('access-control-allow-origin', value)
          if (credentials) h.set('access-control-allow-credentials', 'true')
          if (exposed) h.set('access-control-expose-headers', exposed)
        } else {
          h.delete('access-control-allow-origin')
          h.delete('access-control-allow-credentials')
        }
      })
    },
  }
}

// Auth gateway: every /api request needs a valid HS256 JWT (`Authorization: Bearer <token>`),
// verified in an onRequest hook with node:crypto. The upstream gets the user id in `x-user-id`
// and never sees the token; /public is open. Ops pages sit behind HTTP basic auth.
//
//   JWT_SECRET=change-me API_URL=http://127.0.0.1:3001 npx switchyard dev examples/auth-gateway/proxy.config.ts
//   (a token for testing: node -e "…signJwt({ sub: 'ada', exp: … }, 'change-me')", see README.md)
import { defineConfig, type Middleware } from 'switchyard'
import { basicAuth } from 'switchyard/middleware'
import { verifyJwt } from './jwt.js'

const secret = process.env.JWT_SECRET ?? 'dev-secret-change-me'

/** Verifies the bearer token; 401 with a reason otherwise. */
function jwtAuth(options: { secret: string }): Middleware {
  return {
    name: 'jwtAuth',
    onRequest(ctx) {
      const header = ctx.headers.get('authorization') ?? ''
      const token = header.startsWith('Bearer ') ? header.slice(7).trim() : ''
      const result = token ? verifyJwt(token, options.secret) : { ok: false as const, reason: 'missing bearer token' }
      if (!result.ok) {
        return Response.json({ error: result.reason }, {
          status: 401,
          headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${result.reason}"` },
        })
      }
      ctx.state.user = result.claims.sub
      ctx.headers.delete('authorization') // the upstream trusts x-user-id instead
      ctx.headers.set('x-user-id', String(result.claims.sub ?? ''))
      return undefined
    },
  }
}

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: { api: { servers: [process.env.API_URL ?? 'http://127.0.0.1:3001'] } },
  routes: [
    { name: 'public', match: { path: '/public/*' }, to: 'api' },
    {
      name: 'ops',
      match: { path: '/ops/*' },
      to: 'api',
      // Password 'ops' for user 'admin' (a plain string works too; hashPassword() makes a stored hash).
      use: [basicAuth({ users: { admin: process.env.OPS_PASSWORD ?? 'ops' }, realm: 'ops' })],
    },
    { name: 'api', match: { path: '/api/*' }, to: 'api', rewrite: { stripPrefix: '/api' }, use: [jwtAuth({ secret })] },
  ],
})

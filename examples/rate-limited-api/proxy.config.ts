// A rate-limited public API: each API key (or, without one, each client address) gets 100
// requests a minute — token bucket, so short bursts are fine — with RateLimit-* headers on every
// answer and 429 + Retry-After beyond. CORS is open so browsers can call it.
//
//   API_URL=http://127.0.0.1:3001 npx switchyard dev examples/rate-limited-api/proxy.config.ts
import { defineConfig } from 'switchyard'
import { cors, rateLimit } from 'switchyard/middleware'

const limit = Number(process.env.RATE_LIMIT ?? 100)

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: { api: { servers: [process.env.API_URL ?? 'http://127.0.0.1:3001'] } },
  routes: [
    { name: 'status', match: { path: '/status' }, respond: { body: { ok: true } } },
    {
      name: 'api',
      match: { path: '/v1/*' },
      to: 'api',
      use: [
        cors({ origin: '*', exposedHeaders: ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'] }),
        rateLimit({
          limit,
          window: '1m',
          // Per API key when there is one, else per client address.
          key: (ctx) => {
            const apiKey = ctx.headers.get('x-api-key')
            return apiKey ? `key:${apiKey}` : `ip:${ctx.clientIp}`
          },
        }),
      ],
    },
  ],
})

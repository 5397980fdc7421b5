// The repo's own demo: `npm start` runs it. It starts three small backends in-process and
// puts the proxy in front of them on http://127.0.0.1:8080. Edit this file while it runs:
// the proxy reloads without dropping a request (and keeps the old config if you break it).
import { defineConfig } from 'switchyard'
import { demoBackend } from './examples/demo/backends.js'

export default defineConfig(async ({ mode }) => {
  const [a, b, c] = await Promise.all([demoBackend('backend-a'), demoBackend('backend-b'), demoBackend('backend-c')])
  return {
    listen: { port: 8080 },
    upstreams: {
      // Round robin across three servers.
      web: { servers: [a, b, c] },
      // Smooth weighted round robin: b gets 2 of every 3 requests.
      api: { servers: [a, { url: b, weight: 2 }], timeouts: { responseHeaders: '10s' } },
    },
    routes: [
      { match: { path: '/health' }, respond: { status: 200, body: 'ok' } },
      { match: { path: '/old/*' }, redirect: { to: '/new/:splat', status: 301 } },
      { match: { path: '/api/*' }, to: 'api', rewrite: { stripPrefix: '/api' }, headers: { response: { set: { 'x-served-by': 'switchyard' } } } },
      {
        match: { path: '/hello/:name', method: 'GET' },
        handle: (req, ctx) => Response.json({ hello: ctx.params.name, from: ctx.clientIp, mode }),
      },
      {
        // A handler that calls an upstream and decorates its answer.
        match: { path: '/users/:id', method: 'GET' },
        handle: async (req, ctx) => {
          const upstream = await ctx.forward('api')
          const headers = new Headers(upstream.headers)
          headers.set('x-user-id', ctx.params.id)
          return new Response(upstream.body, { status: upstream.status, headers })
        },
      },
      { match: { path: '/*' }, to: 'web' },
    ],
  }
})

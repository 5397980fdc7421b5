// Basic load balancing: one group of three servers, least-connections balancing, passive health
// (a server that fails is ejected for a while) and a retry on another server for safe requests.
//
//   WEB_SERVERS=http://127.0.0.1:3001,http://127.0.0.1:3002 npx switchyard dev examples/load-balancing/proxy.config.ts
import { defineConfig } from 'switchyard'

const servers = (process.env.WEB_SERVERS ?? 'http://127.0.0.1:3001,http://127.0.0.1:3002,http://127.0.0.1:3003')
  .split(',').map((s) => s.trim()).filter(Boolean)

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    web: {
      servers,
      balance: 'round-robin',
      // Two failures (refused, timed out, or 503) within 10 s take a server out for 10 s.
      passive: { maxFails: 2, failTimeout: '10s', failOn: ['connect-error', 'timeout', 503] },
      // A refused connection or a 502/503 is tried once more on another server.
      retry: { tries: 2, on: ['connect-error', 502, 503] },
    },
  },
  routes: [
    { name: 'health', match: { path: '/healthz' }, respond: { body: 'ok' } },
    { name: 'web', to: 'web' },
  ],
})

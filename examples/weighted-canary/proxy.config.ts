// Weighted canary: 1 request in 10 goes to the new version; testers can force it with a header.
//
//   STABLE_URL=http://127.0.0.1:3001 CANARY_URL=http://127.0.0.1:3002 npx switchyard dev examples/weighted-canary/proxy.config.ts
import { defineConfig } from 'switchyard'

const stable = process.env.STABLE_URL ?? 'http://127.0.0.1:3001'
const canary = process.env.CANARY_URL ?? 'http://127.0.0.1:3002'

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    // Smooth weighted round robin: exactly 1 of every 10 requests reaches the canary.
    app: { servers: [{ url: stable, weight: 9 }, { url: canary, weight: 1 }] },
    canary: { servers: [canary] },
  },
  routes: [
    // `curl -H 'x-canary: 1'` always gets the canary.
    { name: 'forced-canary', match: { headers: { 'x-canary': '1' } }, to: 'canary' },
    { name: 'app', to: 'app', headers: { response: { set: { 'x-release': 'weighted' } } } },
  ],
})

// Mirroring to a shadow service: every API request is answered by production as usual, and a
// copy (body included, streamed) goes to the shadow deployment, whose answers are discarded —
// to try a new version on real traffic without risk. Only reads are copied by default.
//
//   PRIMARY_URL=http://127.0.0.1:3001 SHADOW_URL=http://127.0.0.1:3002 npx switchyard dev examples/mirroring/proxy.config.ts
import { defineConfig } from 'switchyard'
import { mirror } from 'switchyard/middleware'

const shadowCopies = mirror({
  group: 'shadow',
  sample: Number(process.env.MIRROR_SAMPLE ?? 1),
  methods: (process.env.MIRROR_METHODS ?? 'GET,HEAD').split(','),
})

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    primary: { servers: [process.env.PRIMARY_URL ?? 'http://127.0.0.1:3001'] },
    shadow: { servers: [process.env.SHADOW_URL ?? 'http://127.0.0.1:3002'], timeouts: { responseHeaders: '5s' } },
  },
  routes: [
    { name: 'api', match: { path: '/api/*' }, to: 'primary', use: [shadowCopies] },
    { name: 'other', to: 'primary' },
  ],
})

// A/B split by cookie: a new visitor is assigned A or B (50/50) and gets an `ab` cookie that keeps
// them there; a visitor who already has one (or sets it by hand) always sees the same variant.
//
//   VARIANT_A_URL=http://127.0.0.1:3001 VARIANT_B_URL=http://127.0.0.1:3002 npx switchyard dev examples/ab-cookie/proxy.config.ts
import { defineConfig } from 'switchyard'
import { trafficSplit } from 'switchyard/middleware'

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    a: { servers: [process.env.VARIANT_A_URL ?? 'http://127.0.0.1:3001'] },
    b: { servers: [process.env.VARIANT_B_URL ?? 'http://127.0.0.1:3002'] },
  },
  routes: [
    {
      name: 'experiment',
      // `to` is the default; trafficSplit's selectUpstream picks the group per visitor.
      to: 'a',
      use: [trafficSplit({ groups: { a: 50, b: 50 }, sticky: { cookie: 'ab', maxAge: '30d' } })],
    },
  ],
})

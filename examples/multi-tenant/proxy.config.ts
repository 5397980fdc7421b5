// Multi-tenant host routing: big tenants get their own backend by host name, every other
// subdomain of the SaaS domain goes to the shared backend with the tenant in `X-Tenant`, and the
// apex redirects to www.
//
//   SHARED_URL=http://127.0.0.1:3001 ACME_URL=http://127.0.0.1:3002 npx switchyard dev examples/multi-tenant/proxy.config.ts
//   curl -H 'Host: acme.saas.test' localhost:8080/   (or add the names to /etc/hosts)
import { defineConfig } from 'switchyard'

const domain = process.env.SAAS_DOMAIN ?? 'saas.test'

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    shared: { servers: [process.env.SHARED_URL ?? 'http://127.0.0.1:3001'] },
    acme: { servers: [process.env.ACME_URL ?? 'http://127.0.0.1:3002'] },
    marketing: { servers: [process.env.MARKETING_URL ?? 'http://127.0.0.1:3003'] },
  },
  routes: [
    { name: 'apex', match: { host: domain }, redirect: { to: `https://www.${domain}/`, status: 301 } },
    { name: 'www', match: { host: `www.${domain}` }, to: 'marketing' },
    // A dedicated backend for a large tenant (a custom domain works the same way).
    { name: 'acme', match: { host: [`acme.${domain}`, 'portal.acme.example'] }, to: 'acme', headers: { request: { set: { 'x-tenant': 'acme' } } } },
    {
      name: 'tenants',
      match: { host: `*.${domain}` },
      to: 'shared',
      hooks: {
        // `globex.saas.test` → X-Tenant: globex (a client-sent X-Tenant is replaced, never trusted).
        onRequest(ctx) {
          ctx.headers.set('x-tenant', ctx.url.hostname.slice(0, -(domain.length + 1)))
        },
      },
    },
    { name: 'unknown-host', respond: { status: 421, body: 'unknown host\n' } },
  ],
})

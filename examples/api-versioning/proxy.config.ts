// API versioning by header: `X-API-Version: 2` (or `Accept: application/vnd.example.v2+json`)
// reaches the v2 service, anything else v1; `/v2/...` and `/v1/...` paths pin a version too.
//
//   API_V1_URL=http://127.0.0.1:3001 API_V2_URL=http://127.0.0.1:3002 npx switchyard dev examples/api-versioning/proxy.config.ts
import { defineConfig } from 'switchyard'

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: {
    v1: { servers: [process.env.API_V1_URL ?? 'http://127.0.0.1:3001'] },
    v2: { servers: [process.env.API_V2_URL ?? 'http://127.0.0.1:3002'] },
  },
  routes: [
    // A version in the path wins, and is stripped: the services serve /users, not /v2/users.
    { name: 'v2-path', match: { path: '/v2/*' }, to: 'v2', rewrite: { stripPrefix: '/v2' } },
    { name: 'v1-path', match: { path: '/v1/*' }, to: 'v1', rewrite: { stripPrefix: '/v1' } },
    { name: 'v2-header', match: { headers: { 'x-api-version': '2' } }, to: 'v2' },
    { name: 'v2-media-type', match: { headers: { accept: /application\/vnd\.example\.v2\+json/ } }, to: 'v2' },
    // Default: v1, and say so, so clients can see which version answered.
    { name: 'v1-default', to: 'v1', headers: { response: { set: { 'x-api-version': '1' } } } },
  ],
})

// A static site and its API on one origin: files from ./public (ETag, Range, index.html), the
// API forwarded under /api, and a single-page-app fallback to index.html for client-side routes.
//
//   API_URL=http://127.0.0.1:3001 npx switchyard dev examples/static-site-api/proxy.config.ts
import { readFile } from 'node:fs/promises'
import { extname, join } from 'node:path'
import { defineConfig } from 'switchyard'
import { serveStatic } from 'switchyard/middleware'

// import.meta.dirname is the config's folder (README: the config is compiled to CommonJS, and
// import.meta.* still refers to the config file).
const root = process.env.SITE_ROOT ?? join(import.meta.dirname, 'public')

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: { api: { servers: [process.env.API_URL ?? 'http://127.0.0.1:3001'] } },
  routes: [
    { name: 'api', match: { path: '/api/*' }, to: 'api', rewrite: { stripPrefix: '/api' } },
    // Fingerprinted assets: cache for a year.
    { name: 'assets', match: { path: '/assets/*' }, use: [serveStatic({ root: join(root, 'assets'), prefix: '/assets', maxAge: '365d', immutable: true, fallthrough: false })], respond: { status: 404, body: 'Not Found\n' } },
    {
      name: 'site',
      match: { method: ['GET', 'HEAD'] },
      use: [serveStatic({ root })],
      // No file matched: a client-side route of the single-page app (no extension) gets
      // index.html; a missing file (/logo.png) is a 404.
      handle: async (req) => {
        if (extname(new URL(req.url).pathname) !== '') return new Response('Not Found\n', { status: 404 })
        return new Response(await readFile(join(root, 'index.html')), { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } })
      },
    },
  ],
})

/** `switchyard init`: writes a commented starter config. */
import { existsSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, resolve, relative } from 'node:path'

const STARTER = `// Switchyard config: https://www.npmjs.com/package/switchyard (see the README for every option).
// Run it with \`npx switchyard dev\`; saving this file reloads the proxy without dropping requests.
import { defineConfig } from 'switchyard'

export default defineConfig({
  // Where clients connect. Several listeners: listen: [{ port: 8080 }, { port: 8081 }]
  listen: { host: '127.0.0.1', port: 8080 },

  // Named groups of servers. Round robin by default; weights spread traffic unevenly.
  upstreams: {
    app: {
      servers: ['http://127.0.0.1:3000'],
      // servers: ['http://127.0.0.1:3000', { url: 'http://127.0.0.1:3001', weight: 2 }],
      // timeouts: { connect: '5s', responseHeaders: '60s' },
    },
  },

  // Tried in order; the first match handles the request. Nothing matches → 404.
  routes: [
    { match: { path: '/healthz' }, respond: { status: 200, body: 'ok' } },
    // { match: { path: '/old/*' }, redirect: { to: '/new/:splat', status: 301 } },
    // { match: { path: '/api/*' }, to: 'app', rewrite: { stripPrefix: '/api' } },
    // { match: { path: '/hello/:name' }, handle: (req, ctx) => new Response(\`hello \${ctx.params.name}\`) },
    { match: { path: '/*' }, to: 'app' },
  ],
})
`

export async function runInit(dir: string | undefined, force: boolean): Promise<number> {
  const folder = resolve(dir ?? '.')
  const file = join(folder, 'proxy.config.ts')
  if (existsSync(file) && !force) {
    process.stderr.write(`switchyard init: ${relative(process.cwd(), file) || file} already exists (use --force to overwrite)\n`)
    return 1
  }
  mkdirSync(folder, { recursive: true })
  writeFileSync(file, STARTER)
  process.stdout.write(`wrote ${relative(process.cwd(), file) || file}\nnext: npx switchyard dev\n`)
  return 0
}

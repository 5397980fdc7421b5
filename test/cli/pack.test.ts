// The published shape works: `npm pack`, install the tarball into a fresh project, and run
// `npx switchyard check` on a config that imports 'switchyard'. Installs dependencies from
// the npm registry, so it is the slowest test (~10–30 s).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/config-files.js'
import { assertBuilt } from '../helpers/cli.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

test('npm pack → install into another folder → npx switchyard check', { timeout: 300_000 }, async (t) => {
  assertBuilt()
  const dir = tempDir('switchyard-pack-')
  t.after(() => dir.remove())
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir.dir], { cwd: root })
  const [{ filename, files }] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  const paths = files.map((f) => f.path)
  assert.ok(paths.includes('dist/src/cli/bin.js'))
  assert.ok(paths.includes('dist/src/bundle/cli.js'), 'the CLI bundle bin.js loads is published')
  assert.ok(paths.includes('dist/src/index.d.ts'))
  assert.ok(!paths.some((p) => p.startsWith('test/') || p.startsWith('node_modules/')))

  dir.write('package.json', JSON.stringify({ name: 'user-app', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', dir.path(filename)], { cwd: dir.dir, timeout: 240_000 })
  dir.write('proxy.config.ts', `import { defineConfig } from 'switchyard'
export default defineConfig({
  upstreams: { app: { servers: ['http://127.0.0.1:3000'] } },
  routes: [{ match: { path: '/*' }, to: 'app' }],
})
`)
  const check = await run('npx', ['--no-install', 'switchyard', 'check'], { cwd: dir.dir })
  assert.match(check.stdout, /proxy\.config\.ts: OK/)
  assert.match(check.stdout, /app\s+round-robin\s+http:\/\/127\.0\.0\.1:3000/)
  const esm = await run(process.execPath, ['-e', "import('switchyard').then((m) => console.log(typeof m.defineConfig))"], { cwd: dir.dir })
  assert.equal(esm.stdout.trim(), 'function')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { runCli, CliProcess } from '../helpers/cli.js'
import { tempDir } from '../helpers/config-files.js'
import { heldBackend, http } from '../helpers/servers.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

test('--version and --help', async () => {
  const version = await runCli(['--version'], process.cwd())
  assert.equal(version.code, 0)
  assert.match(version.stdout, new RegExp(`switchyard/${pkg.version.replace(/\./g, '\\.')}`))
  const help = await runCli(['--help'], process.cwd())
  assert.equal(help.code, 0)
  for (const command of ['dev', 'start', 'check', 'init', '--port', '--host', '--config']) assert.ok(help.stdout.includes(command), command)
})

test('check: prints routes and upstreams, exit 0; a bad config exits 1 naming file:line', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', `import { defineConfig } from 'switchyard'
export default defineConfig({
  upstreams: { api: { servers: ['http://127.0.0.1:3001', { url: 'http://127.0.0.1:3002', weight: 2 }] } },
  routes: [
    { match: { host: '*.example.com', path: '/v1/*' }, to: 'api', rewrite: { stripPrefix: '/v1' } },
    { name: 'health', match: { path: '/health' }, respond: { body: 'ok' } },
  ],
})
`)
  const ok = await runCli(['check'], dir.dir)
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /proxy\.config\.ts: OK/)
  assert.match(ok.stdout, /api\s+round-robin\s+http:\/\/127\.0\.0\.1:3001, http:\/\/127\.0\.0\.1:3002 \(weight 2\)/)
  assert.match(ok.stdout, /1\. host \*\.example\.com \/v1\/\*\s+→\s+upstream api/)
  assert.match(ok.stdout, /2\. \/health\s+→\s+respond 200\s+\[health\]/)

  dir.write('bad.config.ts', `export default {\n  upstreams: { api: { servers: ['http://127.0.0.1:1'] } },\n  routes: [{ to: 'api' }, { to: 'apii' }],\n}\n`)
  const bad = await runCli(['check', 'bad.config.ts'], dir.dir)
  assert.equal(bad.code, 1)
  assert.match(bad.stderr, /bad\.config\.ts:3: routes\[1\]\.to: unknown upstream 'apii' \(known: api\)/)

  const missing = await runCli(['check', '--config', 'nope.ts'], dir.dir)
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /config file not found/)
})

test('init writes a starter config that passes check, and refuses to overwrite', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  const first = await runCli(['init'], dir.dir)
  assert.equal(first.code, 0, first.stderr)
  assert.ok(existsSync(dir.path('proxy.config.ts')))
  const again = await runCli(['init'], dir.dir)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /already exists/)
  assert.equal((await runCli(['init', '--force'], dir.dir)).code, 0)
  const check = await runCli(['check'], dir.dir)
  assert.equal(check.code, 0, check.stderr)
})

test('start: serves, reloads on SIGHUP, drains in-flight requests on SIGTERM and exits 0', async (t) => {
  const backend = await heldBackend('/slow')
  t.after(() => backend.close())
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = (marker: string) => `export default {
  upstreams: { b: { servers: ['${backend.url}'] } },
  routes: [{ match: { path: '/marker' }, respond: { body: '${marker}' } }, { to: 'b' }],
  log: { format: 'json' },
}
`
  dir.write('proxy.config.ts', config('one'))
  const proc = new CliProcess(['start', '--port', '0'], dir.dir)
  t.after(() => proc.stop())
  const [, port] = await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/)
  const url = `http://127.0.0.1:${port}`
  assert.equal((await http(`${url}/marker`)).body.toString(), 'one')
  assert.equal((await http(`${url}/x`)).body.toString(), 'backend /x')
  // JSON access log lines.
  const access = await proc.waitFor(/\{[^\n]*"msg":"access"[^\n]*"target":"\/x"[^\n]*\}/)
  assert.equal(JSON.parse(access[0]).status, 200)

  dir.write('proxy.config.ts', config('two'))
  const mark = proc.output.length
  proc.child.kill('SIGHUP')
  await proc.waitFor(/reloaded/, mark)
  assert.equal((await http(`${url}/marker`)).body.toString(), 'two')

  const slow = http(`${url}/slow`)
  await backend.arrived // in flight: the backend holds it
  proc.child.kill('SIGTERM')
  await proc.waitFor(/SIGTERM: draining/)
  backend.release()
  const res = await slow
  assert.equal(res.status, 200)
  assert.equal(res.body.toString(), 'backend /slow')
  assert.equal(await proc.exited, 0)
  await assert.rejects(http(`${url}/marker`)) // no longer accepting
})


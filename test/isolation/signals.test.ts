import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempDir } from '../helpers/config-files.js'
import { heldBackend } from '../helpers/servers.js'
import { startCli, listening, get } from './supervised.js'

test('--workers 2: SIGHUP reloads every worker (one at a time), SIGTERM drains in-flight requests and exits 0', async (t) => {
  const backend = await heldBackend('/slow')
  t.after(() => backend.close())
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = (marker: string) => `export default {
  upstreams: { b: { servers: ['${backend.url}'] } },
  routes: [{ match: { path: '/marker' }, handle: () => new Response('${marker} ' + process.pid) }, { to: 'b' }],
}
`
  dir.write('proxy.config.ts', config('one'))
  const proc = startCli(t, ['start', '--port', '0', '--workers', '2'], dir.dir)
  await proc.waitFor(/listening on [^\n]* worker=1/)
  await proc.waitFor(/listening on [^\n]* worker=2/)
  const { url } = await listening(proc)

  dir.write('proxy.config.ts', config('two'))
  const mark = proc.output.length
  proc.child.kill('SIGHUP')
  const [first] = await proc.waitFor(/reloaded proxy\.config\.ts[^\n]*/, mark)
  await proc.waitFor(new RegExp(`${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\\s\\S]*reloaded proxy\\.config\\.ts`), mark)
  const pids = new Set<string>()
  // The workers race for each new connection on the shared socket: ask until both answered.
  for (let i = 0; i < 40 && pids.size < 2; i++) {
    const r = await get(`${url}/marker`)
    assert.ok(!(r instanceof Error), String(r))
    assert.match(r.body, /^two \d+$/)
    pids.add(r.body)
  }
  assert.equal(pids.size, 2, 'both workers answered with the new config')

  const slow = get(`${url}/slow`)
  await backend.arrived
  proc.child.kill('SIGTERM')
  await proc.waitFor(/SIGTERM: draining/)
  backend.release()
  assert.deepEqual(await slow, { status: 200, body: 'backend /slow' })
  assert.equal(await proc.exited, 0)
  assert.ok(await get(`${url}/marker`) instanceof Error, 'no longer accepting')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempDir } from '../helpers/config-files.js'
import { startCli, listening, get } from './supervised.js'

const good = (marker: string) => `export default {
  routes: [{ match: { path: '/marker' }, respond: { body: '${marker}' } }],
}
`
const blocking = (marker: string) => `const started = Date.now()
while (Date.now() - started >= 0) {}
export default {
  routes: [{ match: { path: '/marker' }, respond: { body: '${marker}' } }],
}
`

test('a config whose top-level code blocks at startup: reported with file:line, restarted with backoff, not in a tight loop', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', blocking('never'))
  const proc = startCli(t, ['start', '--port', '0', '--blocked-after', '300'], dir.dir)
  await proc.waitFor(/event loop blocked for [\d.]+ s while loading the config, in proxy\.config\.ts:2:\d+/)
  await proc.waitFor(/worker 1 \(pid \d+\) was stopped: its event loop was blocked; restarting now/)
  const second = proc.output.length
  await proc.waitFor(/event loop blocked for [\d.]+ s while loading the config, in proxy\.config\.ts:2:\d+/, second)
  await proc.waitFor(/restarting in 1000 ms/, second)
  const waited = performance.now()
  const third = proc.output.length
  await proc.waitFor(/event loop blocked [^\n]*proxy\.config\.ts:2/, third)
  assert.ok(performance.now() - waited >= 1000 + 300, 'the third attempt waited for its backoff')
  await proc.waitFor(/restarting in 2000 ms/, third)
  // Fixing the file is picked up by the next attempt.
  dir.write('proxy.config.ts', good('fixed'))
  const { url } = await listening(proc, third)
  assert.deepEqual(await get(`${url}/marker`), { status: 200, body: 'fixed' })
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0)
})

test('SIGHUP with a config whose top-level code blocks: reported, and the last good config keeps serving', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', good('one'))
  const proc = startCli(t, ['start', '--port', '0', '--blocked-after', '300'], dir.dir)
  const first = await listening(proc)
  assert.deepEqual(await get(`${first.url}/marker`), { status: 200, body: 'one' })

  dir.write('proxy.config.ts', blocking('two'))
  let mark = proc.output.length
  proc.child.kill('SIGHUP')
  await proc.waitFor(/event loop blocked for [\d.]+ s while reloading the config, in proxy\.config\.ts:2:\d+/, mark)
  await proc.waitFor(/starting a replacement with the last config that loaded/, mark)
  assert.deepEqual(await get(`${first.url}/marker`), { status: 200, body: 'one' })
  await proc.waitFor(/loaded proxy\.config\.ts \(the version the previous worker served\)/, mark)

  // The replacement reloads normally once the file is fixed.
  dir.write('proxy.config.ts', good('three'))
  mark = proc.output.length
  proc.child.kill('SIGHUP')
  await proc.waitFor(/reloaded proxy\.config\.ts/, mark)
  assert.deepEqual(await get(`${first.url}/marker`), { status: 200, body: 'three' })
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0)
})

test('dev: a save whose top-level code blocks is reported, the dev server comes back with the last good config, and the next save reloads', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', good('one'))
  const proc = startCli(t, ['dev', '--port', '0', '--blocked-after', '300'], dir.dir)
  const first = await listening(proc)
  await proc.waitFor(/watching for changes/)
  let mark = proc.output.length
  dir.writeAtomic('proxy.config.ts', blocking('two'))
  await proc.waitFor(/event loop blocked for [\d.]+ s while reloading the config, in proxy\.config\.ts:2:\d+/, mark)
  const second = await listening(proc, mark)
  assert.notEqual(second.pid, first.pid)
  await proc.waitFor(/watching for changes/, mark)
  assert.deepEqual(await get(`${first.url}/marker`), { status: 200, body: 'one' })
  mark = proc.output.length
  dir.writeAtomic('proxy.config.ts', good('three'))
  await proc.waitFor(/reloaded proxy\.config\.ts/, mark)
  assert.deepEqual(await get(`${first.url}/marker`), { status: 200, body: 'three' })
})

test('--workers 2: a reload that blocks stops at the first worker; the other keeps serving the previous config throughout', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', good('one'))
  const proc = startCli(t, ['start', '--port', '0', '--workers', '2', '--blocked-after', '300'], dir.dir)
  await proc.waitFor(/listening on [^\n]* worker=1/)
  await proc.waitFor(/listening on [^\n]* worker=2/)
  const { url } = await listening(proc)
  dir.write('proxy.config.ts', blocking('two'))
  const mark = proc.output.length
  proc.child.kill('SIGHUP')
  await proc.waitFor(/event loop blocked for [\d.]+ s while reloading the config, in proxy\.config\.ts:2:\d+/, mark)
  await proc.waitFor(/reload stopped at worker \d: the other 1 worker\(s\) keep the previous config/, mark)
  // Only one worker evaluated the blocking config: the other answers now.
  assert.deepEqual(await get(`${url}/marker`), { status: 200, body: 'one' })
  await listening(proc, mark) // the replacement, from the last good config
  for (let i = 0; i < 4; i++) assert.deepEqual(await get(`${url}/marker`), { status: 200, body: 'one' })
  assert.equal([...proc.output.slice(mark).matchAll(/event loop blocked for/g)].length, 1)
})

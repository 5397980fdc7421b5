import { test } from 'node:test'
import assert from 'node:assert/strict'
import { tempDir } from '../helpers/config-files.js'
import { startCli, listening, get, since } from './supervised.js'

const CONFIG = `export default {
  routes: [
    { match: { path: '/pid' }, handle: () => new Response(String(process.pid)) },
    {
      match: { path: '/spin' },
      handle: () => {
        let i = 0
        while (true) i++
      },
    },
  ],
}
`

test('a handler that blocks the event loop: reported with proxy.config.ts:line, its worker replaced, the next request succeeds', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', CONFIG)
  const proc = startCli(t, ['start', '--port', '0', '--blocked-after', '300'], dir.dir)
  const first = await listening(proc)
  assert.deepEqual(await get(`${first.url}/pid`), { status: 200, body: String(first.pid) })

  const mark = proc.output.length
  const spin = get(`${first.url}/spin`)
  const blockedAt = performance.now()
  const [report] = await proc.waitFor(/event loop blocked for [\d.]+ s while serving requests, in handle at proxy\.config\.ts:8:\d+ pid=\d+\n\s+at handle \(proxy\.config\.ts:8:\d+\)/, mark)
  const detectMs = since(blockedAt)
  assert.ok(report)
  // The only worker is replaced before it is killed: the request below waits for the
  // replacement instead of being refused, on the same port.
  const next = await get(`${first.url}/pid`)
  const replaceMs = since(blockedAt)
  const second = await listening(proc, mark)
  assert.notEqual(second.pid, first.pid)
  assert.equal(second.url, first.url)
  assert.deepEqual(next, { status: 200, body: String(second.pid) })
  await proc.waitFor(new RegExp(`worker 1 \\(pid ${second.pid}\\) is serving; stopping the blocked worker \\(pid ${first.pid}\\)`), mark)
  // The request that was running on the blocked worker fails.
  const failed = await spin
  assert.ok(failed instanceof Error || failed.status >= 500, `spin: ${JSON.stringify(failed)}`)
  t.diagnostic(`blocked → reported ${detectMs} ms, blocked → next request answered ${replaceMs} ms (blockedAfter 300 ms)`)
})

test('--workers 2: another worker answers while the blocked one is replaced', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', CONFIG)
  const proc = startCli(t, ['start', '--port', '0', '--workers', '2', '--blocked-after', '300'], dir.dir)
  await proc.waitFor(/listening on [^\n]* worker=1/)
  await proc.waitFor(/listening on [^\n]* worker=2/)
  const { url } = await listening(proc)
  const pids = [...proc.output.matchAll(/listening on [^\n]* pid=(\d+) worker=\d/g)].map((m) => m[1]!)
  assert.equal(pids.length, 2)

  const mark = proc.output.length
  const spin = get(`${url}/spin`)
  const [, blockedPid] = await proc.waitFor(/event loop blocked for [\d.]+ s while serving requests, in handle at proxy\.config\.ts:8:\d+ pid=(\d+)/, mark)
  const healthy = pids.find((p) => p !== blockedPid)!
  // Killed at once (another worker serves) and restarted without delay.
  await proc.waitFor(new RegExp(`worker \\d \\(pid ${blockedPid}\\) was stopped: its event loop was blocked; restarting now`), mark)
  const during = await get(`${url}/pid`)
  assert.deepEqual(during, { status: 200, body: healthy })
  const failed = await spin
  assert.ok(failed instanceof Error || failed.status >= 500)
  const replacement = await listening(proc, mark)
  assert.ok(!pids.includes(String(replacement.pid)))
  // Both workers take connections again (they race for each on the shared socket).
  const seen = new Set<string>()
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const r = await get(`${url}/pid`)
    assert.ok(!(r instanceof Error), String(r))
    seen.add(r.body)
  }
  assert.deepEqual([...seen].sort(), [healthy, String(replacement.pid)].sort())
})

test('code blocked inside a native call is reported without a stack, and still replaced', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', `import { execFileSync } from 'node:child_process'
export default {
  routes: [
    { match: { path: '/pid' }, handle: () => new Response(String(process.pid)) },
    { match: { path: '/sleep' }, handle: () => new Response(execFileSync('sleep', ['5'])) },
  ],
}
`)
  const proc = startCli(t, ['start', '--port', '0', '--blocked-after', '300'], dir.dir)
  const first = await listening(proc)
  const mark = proc.output.length
  const sleeping = get(`${first.url}/sleep`)
  await proc.waitFor(/event loop blocked for [\d.]+ s while serving requests, in native code or a synchronous call \(no JavaScript stack could be taken\)/, mark)
  const next = await get(`${first.url}/pid`)
  const second = await listening(proc, mark)
  assert.deepEqual(next, { status: 200, body: String(second.pid) })
  assert.ok((await sleeping) instanceof Error)
})

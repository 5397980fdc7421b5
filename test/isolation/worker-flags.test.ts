// The supervisor's Node flags for proxy workers: V8 heap sizes for proxy load, unless the user chose
// them; a worker puts the ones the supervisor added back to V8's defaults once its heap is sized.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { workerExecArgv } from '../../src/supervisor/supervisor.js'
import { HEAP_FLAGS_ENV, heapFlagsEnv, mallocEnv, restoreFlagDefaults, workerHeapFlags } from '../../src/supervisor/heap-flags.js'
import { tempDir } from '../helpers/config-files.js'
import { http } from '../helpers/servers.js'
import { startCli, listening } from './supervised.js'

test('workers get --max-semi-space-size=32 and --initial-old-space-size=64 after the supervisor\'s own flags', () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], ''), ['--enable-source-maps', '--max-semi-space-size=32', '--initial-old-space-size=64'])
})

test('a semi-space size the user set is kept, and only the old-space default is added', () => {
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=8'], ''), ['--max-semi-space-size=8', '--initial-old-space-size=64'])
  assert.deepEqual(workerExecArgv([], '--min-semi-space-size=4'), ['--initial-old-space-size=64'])
})

test('an old-space or heap size the user set is kept, and the initial old space is not raised past it', () => {
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=64'), [])
  assert.deepEqual(workerExecArgv(['--max-old-space-size=48'], ''), ['--max-old-space-size=48', '--max-semi-space-size=32'])
  assert.deepEqual(workerExecArgv(['--initial-old-space-size=16'], ''), ['--initial-old-space-size=16', '--max-semi-space-size=32'])
  assert.deepEqual(workerExecArgv(['--max-heap-size=100'], ''), ['--max-heap-size=100', '--max-semi-space-size=32'])
})

test('flags spelt with underscores (as Node also takes them) count as set', () => {
  assert.deepEqual(workerExecArgv(['--initial_old_space_size=16'], '--max_semi_space_size=8'), ['--initial_old_space_size=16'])
})

test('a worker is told which flags the supervisor added (only those), always: an inherited value never counts', () => {
  assert.deepEqual(heapFlagsEnv(workerHeapFlags([], '')), { [HEAP_FLAGS_ENV]: '--max-semi-space-size --initial-old-space-size' })
  assert.deepEqual(heapFlagsEnv(workerHeapFlags(['--max-semi-space-size=8'], '')), { [HEAP_FLAGS_ENV]: '--initial-old-space-size' })
  assert.deepEqual(heapFlagsEnv(workerHeapFlags([], '--max-heap-size=100 --max-semi-space-size=8')), { [HEAP_FLAGS_ENV]: '' })
})

test('restoreFlagDefaults takes the names out of the environment (processes the worker starts never see them)', () => {
  const env: NodeJS.ProcessEnv = { [HEAP_FLAGS_ENV]: '--max-semi-space-size --expose-gc', OTHER: 'x' }
  restoreFlagDefaults(env)
  assert.deepEqual(env, { OTHER: 'x' })
  restoreFlagDefaults(env) // nothing named: nothing to do
  assert.deepEqual(env, { OTHER: 'x' })
})

test('after restoreFlagDefaults the heap keeps the sizes V8 was started with: the young generation still grows to 2 × 32 MiB', async () => {
  // Allocation churn with survivors makes V8 grow the new space to its maximum.
  const script = `
    import { restoreFlagDefaults } from ${JSON.stringify(new URL('../../src/supervisor/heap-flags.ts', import.meta.url).href)}
    import v8 from 'node:v8'
    restoreFlagDefaults()
    let keep = []
    for (let i = 0; i < 3e6; i++) { const o = { a: i, b: [i] }; if (i % 10 === 0) keep.push(o); if (keep.length > 50000) keep = [] }
    const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    console.log(JSON.stringify({ newSpaceMiB: newSpace.space_size / 1048576, env: process.env.${HEAP_FLAGS_ENV} ?? null }))
  `
  const run = (flags: string[]) => new Promise<{ newSpaceMiB: number; env: string | null }>((resolve, reject) => {
    const child = spawn(process.execPath, [...flags, '--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, [HEAP_FLAGS_ENV]: '--max-semi-space-size --initial-old-space-size' }, stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.on('error', reject)
    child.on('close', () => resolve(JSON.parse(out) as { newSpaceMiB: number; env: string | null }))
  })
  const sized = await run(['--max-semi-space-size=32', '--initial-old-space-size=64'])
  assert.deepEqual(sized, { newSpaceMiB: 64, env: null })
  const defaults = await run([])
  assert.ok(defaults.newSpaceMiB < 64, `without the flags the new space stays smaller (got ${defaults.newSpaceMiB} MiB)`)
})

test('switchyard start: the worker runs with the heap flags and has put them back before the config loads', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', `export default {
  routes: [{ respond: { body: JSON.stringify({ execArgv: process.execArgv, env: process.env.${HEAP_FLAGS_ENV} ?? null }) } }],
}
`)
  const proc = startCli(t, ['start', '--port', '0'], dir.dir)
  const { url, pid } = await listening(proc)
  const res = await http(url)
  const seen = JSON.parse(res.body.toString()) as { execArgv: string[]; env: string | null }
  assert.ok(seen.execArgv.includes('--max-semi-space-size=32') && seen.execArgv.includes('--initial-old-space-size=64'), seen.execArgv.join(' '))
  assert.equal(seen.env, null)
  // The environment the worker was started with (Linux keeps it in /proc): the supervisor named both flags.
  if (process.platform === 'linux') {
    const started = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')
    assert.ok(started.includes(`${HEAP_FLAGS_ENV}=--max-semi-space-size --initial-old-space-size`), started.filter((e) => e.startsWith('SWITCHYARD')).join(' '))
    // And glibc's malloc keeps what it frees (heap-flags.ts, mallocEnv), unless this process set it.
    for (const [name, value] of Object.entries(mallocEnv())) assert.ok(started.includes(`${name}=${value}`), `${name}=${value}`)
  }
})

test('mallocEnv: fixed glibc mmap and trim thresholds for workers, each unless the user set it', () => {
  assert.deepEqual(mallocEnv({}), { MALLOC_MMAP_THRESHOLD_: String(128 * 1024), MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024) })
  assert.deepEqual(mallocEnv({ MALLOC_MMAP_THRESHOLD_: '65536' }), { MALLOC_TRIM_THRESHOLD_: String(64 * 1024 * 1024) })
  assert.deepEqual(mallocEnv({ MALLOC_MMAP_THRESHOLD_: '65536', MALLOC_TRIM_THRESHOLD_: '131072' }), {})
})

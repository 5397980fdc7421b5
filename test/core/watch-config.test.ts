// The config watcher beyond file events: an input that changed without any event is still
// reloaded by the periodic fingerprint check (chokidar ignores node_modules here, so a file
// there is an input no event is ever reported for); saves before the watcher started; a save
// that changes which files are inputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { ConfigWatcher } from '../../src/config/watch-config.js'
import { fingerprint } from '../../src/config/fingerprint.js'
import { tempDir } from '../helpers/config-files.js'

/** A reload callback that counts, returns `files`, and a promise of its first call. */
function recordingReload(files: string[]): { reload: () => Promise<string[]>; first: Promise<void>; count: () => number } {
  let calls = 0
  let called!: () => void
  const first = new Promise<void>((resolve) => (called = resolve))
  return {
    reload: async () => {
      calls++
      called()
      return files
    },
    first,
    count: () => calls,
  }
}

test('a change no file event reports is reloaded by the periodic check', { timeout: 10_000 }, async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  mkdirSync(dir.path('node_modules'))
  const config = dir.write('proxy.config.ts', 'export default {}\n')
  const silent = dir.write('node_modules/shared.ts', 'export const v = 1\n')
  const reloads = recordingReload([config, silent])
  const watcher = new ConfigWatcher([config, silent], { pollMs: 50, reload: reloads.reload })
  t.after(() => watcher.close())
  await watcher.ready()
  dir.write('node_modules/shared.ts', 'export const v = 2\n')
  await reloads.first
  await watcher.settled()
})

test('a save made after the first build but before the watcher started is reloaded', { timeout: 10_000 }, async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = dir.write('proxy.config.ts', 'export default { v: 1 }\n')
  const built = fingerprint([config]) // as the first build read it
  dir.write('proxy.config.ts', 'export default { v: 2 }\n') // saved while the proxy was still starting
  const reloads = recordingReload([config])
  const watcher = new ConfigWatcher([config], { built, pollMs: 50, reload: reloads.reload })
  t.after(() => watcher.close())
  await reloads.first
  await watcher.settled()
})

test('a save that adds an import reloads once, not again for the new file set', { timeout: 10_000 }, async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = dir.write('proxy.config.ts', 'export default {}\n')
  const shared = dir.write('shared.ts', 'export const v = 1\n')
  const reloads = recordingReload([config, shared])
  const watcher = new ConfigWatcher([config], { pollMs: 0, reload: reloads.reload })
  t.after(() => watcher.close())
  await watcher.ready()
  dir.write('proxy.config.ts', "import { v } from './shared.ts'\nexport default { v }\n")
  await reloads.first
  await watcher.settled()
  assert.equal(reloads.count(), 1)
})

// The config watcher's safety net: an input that changed without any file event is still
// reloaded by the periodic fingerprint check. (chokidar ignores node_modules here, so a file
// there is an input no event is ever reported for.)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { ConfigWatcher } from '../../src/config/watch-config.js'
import { tempDir } from '../helpers/config-files.js'

test('a change no file event reports is reloaded by the periodic check', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  mkdirSync(dir.path('node_modules'))
  const config = dir.write('proxy.config.ts', 'export default {}\n')
  const silent = dir.write('node_modules/shared.ts', 'export const v = 1\n')
  let reloaded!: () => void
  const reload = new Promise<void>((resolve) => (reloaded = resolve))
  const watcher = new ConfigWatcher([config, silent], {
    pollMs: 50,
    reload: async () => {
      reloaded()
      return [config, silent]
    },
  })
  t.after(() => watcher.close())
  await watcher.ready()
  dir.write('node_modules/shared.ts', 'export const v = 2\n')
  await reload
  await watcher.settled()
})

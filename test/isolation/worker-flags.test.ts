// The supervisor's Node flags for proxy workers: a larger young generation unless the user chose one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { workerExecArgv } from '../../src/supervisor/supervisor.js'

test('workers get --max-semi-space-size=32 after the supervisor\'s own flags, unless the user set a semi-space size', () => {
  assert.deepEqual(workerExecArgv(['--enable-source-maps'], ''), ['--enable-source-maps', '--max-semi-space-size=32'])
  assert.deepEqual(workerExecArgv(['--max-semi-space-size=8'], ''), ['--max-semi-space-size=8'])
  assert.deepEqual(workerExecArgv([], '--max-old-space-size=512 --max-semi-space-size=64'), [])
  assert.deepEqual(workerExecArgv([], '--min-semi-space-size=4'), [])
})

// The supervisor's Node flags for proxy workers: V8 heap sizes for proxy load, unless the user chose them.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { workerExecArgv } from '../../src/supervisor/supervisor.js'

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

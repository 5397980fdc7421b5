// The watchdog thread runs at a lower priority than the thread serving requests (Linux), so its
// boot and its checks never take CPU from serving (issue #6, cold start).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { startWatchdog } from '../../runtime/watchdog/watchdog.js'
import { startAtLowerPriority, WATCHDOG_NICE } from '../../runtime/watchdog/thread-priority.js'

const linux = process.platform === 'linux'

/** Nice value of each thread of this process (field 19 of /proc/self/task/ID/stat). */
function niceByThread(): Map<string, number> {
  const out = new Map<string, number>()
  for (const id of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${id}/stat`, 'utf8')
      out.set(id, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
    } catch {
      // the thread ended while listing
    }
  }
  return out
}

test('startWatchdog: exactly one new thread, at the watchdog\'s nice value; the main thread keeps its own', { skip: !linux && 'Linux only' }, async () => {
  const before = niceByThread()
  const { watchdog } = startWatchdog({ blockedAfter: 2000 })
  try {
    const after = niceByThread()
    const added = [...after].filter(([id]) => !before.has(id))
    assert.equal(added.length, 1)
    const main = before.get(String(process.pid))!
    // setpriority() sets the value itself, not an increment; a process niced past it keeps its own.
    assert.equal(added[0]![1], Math.max(main, WATCHDOG_NICE))
    assert.equal(after.get(String(process.pid)), main)
  } finally {
    await watchdog.stop()
  }
})

test('startAtLowerPriority: a start that creates no thread is left as it was', () => {
  const { value, lowered } = startAtLowerPriority(() => 42, WATCHDOG_NICE)
  assert.equal(value, 42)
  assert.equal(lowered, false)
})

test('startAtLowerPriority: a worker thread is lowered and still runs', { skip: !linux && 'Linux only' }, async () => {
  const { value: worker, lowered } = startAtLowerPriority(() => new Worker('require("node:worker_threads").parentPort.postMessage(require("node:os").getPriority())', { eval: true }), 5)
  assert.equal(lowered, true)
  const seen = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject))
  await worker.terminate()
  // os.getPriority() with no pid reads the calling thread's nice value on Linux.
  assert.ok(typeof seen === 'number' && seen >= 5, `worker saw priority ${String(seen)}`)
})

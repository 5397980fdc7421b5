// Counts GCs of one Switchyard build during wrk phases: node --import tsx bench/phase-gc.ts ROOT path:conns:secs ...
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cpuPlan, freePort, installCleanupHandlers, start, stop, stopAll, waitForHttp } from './lib/processes.js'
import { cpuMicros } from './lib/proc-stats.js'
import { nginxBinary, originConfig, startNginx } from './lib/nginx.js'
import { runWrk } from './lib/wrk.js'
import { switchyardConfig } from './lib/switchyard.js'
const [root, ...phases] = process.argv.slice(2)
installCleanupHandlers()
const work = '/tmp/uc/phase'
mkdirSync(join(work, 'www'), { recursive: true })
writeFileSync(join(work, 'www', 'small'), 'hello world\n')
writeFileSync(join(work, 'www', '64k'), Buffer.alloc(64 * 1024, 'a'))
writeFileSync(join(work, 'www', '1m'), Buffer.alloc(1024 * 1024, 'a'))
writeFileSync(join(work, 'www', 'upload'), '')
const cpu = cpuPlan()
const originPort = await freePort()
const origin = startNginx(nginxBinary()!, 'origin', join(work, 'nginx'), originConfig(join(work, 'nginx'), join(work, 'www'), originPort), { cpus: cpu.load })
await waitForHttp(originPort, '/small', origin)
const port = await freePort()
const file = join(root!, 'bench', '.work', 'phase.config.ts')
mkdirSync(join(root!, 'bench', '.work'), { recursive: true })
writeFileSync(file, switchyardConfig({ port, originPort }))
// Through start(): tracked by PID, so the cleanup handlers stop it on error or Ctrl-C.
const proxy = start('switchyard', process.execPath, ['--trace-gc', join(root!, 'dist/src/cli/bin.js'), 'start', file, '--port', String(port)], { cwd: root, cpus: cpu.proxy })
let out = '' // all of it (start() keeps only the last 8 KB): each phase reads its own --trace-gc lines
proxy.child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
await waitForHttp(port, '/small', proxy)
for (const ph of phases) {
  const [path, conns, secs] = ph.split(':')
  const mark = out.length
  const c0 = cpuMicros(proxy.pid)
  const w = await runWrk({ url: `http://127.0.0.1:${port}/${path}`, connections: Number(conns), durationS: Number(secs), cpus: cpu.load })
  const gc = out.slice(mark)
  const mc = gc.match(/Mark-Compact[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g) ?? []
  const sc = gc.match(/Scavenge[^\n]*?, ([\d.]+) \/ [\d.]+ ms/g) ?? []
  const ms = (list: string[]) => list.reduce((a, l) => a + Number(/, ([\d.]+) \//.exec(l)![1]), 0)
  console.log(`${ph}: ${w.rps.toFixed(0)} req/s ${((cpuMicros(proxy.pid) - c0) / w.requests).toFixed(0)} µs/req; mark-compact ${mc.length} (${(ms(mc) * 1000 / w.requests).toFixed(0)} µs/req), scavenge ${sc.length} (${(ms(sc) * 1000 / w.requests).toFixed(0)} µs/req)`)
}
await stop(proxy)
await stop(origin)
await stopAll()

// Reload figures for the Core issue: file save → new config serving (median of 20, through the
// real watcher), and heap after 1 vs 200 reloads of a ~100 KB config (the leak ARCHITECTURE.md
// warns about with per-reload ESM imports). Run: node --expose-gc --import tsx bench/reload.ts   (ROUTES=N sets the size; default 1200 routes ≈ 130 KB)
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { SwitchyardServer } from '../src/server/switchyard-server.js'
import { createLogger } from '../src/log/logger.js'

const gc = (globalThis as { gc?: () => void }).gc
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/reload.ts')

const dir = mkdtempSync(join(tmpdir(), 'switchyard-reload-'))
const file = join(dir, 'proxy.config.ts')
// ~100 KB of config: a big route table, as a large real config might have.
const routeCount = Number(process.env.ROUTES ?? 1200)
const filler = Array.from({ length: routeCount }, (_, i) => `  { match: { path: '/generated/${i}/:id' }, respond: { status: 200, body: 'route ${i} ${'x'.repeat(20)}' } },`).join('\n')
const config = (version: number) => `import { defineConfig } from 'switchyard'
export default defineConfig({
  routes: [
${filler}
    { match: { path: '/version' }, respond: { body: 'v${version}' } },
  ],
})
`
writeFileSync(file, config(0))
console.log(`config size: ${(Buffer.byteLength(config(0)) / 1024).toFixed(0)} KB`)
const log = createLogger({ write: () => {} })
const server = await SwitchyardServer.start({ configFile: file, mode: 'dev', watch: true, log, override: { port: 0, host: '127.0.0.1' } })
const url = `http://127.0.0.1:${server.addresses[0]!.port}/version`
const body = async () => (await (await request(url)).body.text())

// 1. Save → serving, through the watcher. Poll the proxy as fast as it answers.
const latencies: number[] = []
for (let v = 1; v <= 20; v++) {
  await new Promise((r) => setTimeout(r, 120)) // let the previous save settle (chokidar's 50 ms throttle)
  const start = performance.now()
  writeFileSync(file, config(v))
  while ((await body()) !== `v${v}`) { /* poll */ }
  latencies.push(performance.now() - start)
}
latencies.sort((a, b) => a - b)
console.log(`save → new config serving, 20 saves: median ${latencies[10]!.toFixed(1)} ms, min ${latencies[0]!.toFixed(1)}, max ${latencies[19]!.toFixed(1)}`)

// 2. Heap after 1 vs 200 reloads (server.reload(): compile + evaluate + validate + swap).
const heap = () => {
  gc(); gc()
  return process.memoryUsage().heapUsed / 1024 / 1024
}
await server.reload()
const afterOne = heap()
const started = performance.now()
for (let i = 0; i < 199; i++) await server.reload()
const perReload = (performance.now() - started) / 199
const afterTwoHundred = heap()
console.log(`reload of a ${(Buffer.byteLength(config(0)) / 1024).toFixed(0)} KB config: ${perReload.toFixed(1)} ms each (compile + evaluate + validate + swap)`)
console.log(`heap used after 1 reload: ${afterOne.toFixed(1)} MiB; after 200: ${afterTwoHundred.toFixed(1)} MiB (Δ ${(afterTwoHundred - afterOne).toFixed(1)} MiB)`)
await server.close(100)
rmSync(dir, { recursive: true, force: true })

// Transpiles the helper scripts (bench/proxies, bench/clients) to plain .mjs under bench/.work/js,
// so they run on bare `node` — no tsx loader in the measured processes (it would add startup time and RSS).
import { mkdirSync, readdirSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { build } from 'esbuild'

export async function compileHelpers(benchDir: string, outDir: string): Promise<Record<string, string>> {
  mkdirSync(outDir, { recursive: true })
  const entries: string[] = []
  for (const sub of ['proxies', 'clients']) {
    for (const f of readdirSync(join(benchDir, sub))) if (f.endsWith('.ts')) entries.push(join(benchDir, sub, f))
  }
  await build({
    entryPoints: entries,
    outdir: outDir,
    outbase: benchDir, // → outDir/proxies/*.mjs, outDir/clients/*.mjs
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    logLevel: 'error',
  })
  const out: Record<string, string> = {}
  for (const e of entries) out[basename(e, '.ts')] = join(outDir, relative(benchDir, e).replace(/\.ts$/, '.mjs'))
  return out
}

#!/usr/bin/env node
// `npm run build` also writes dist/src/bundle/: this CLI as a few files instead of ~165 modules.
// Node 20 spends ~0.5 ms per ES module it loads, so the bundle starts `switchyard start` ~50 ms
// sooner in each process (issue #6). It is used only when at least as new as the modules next
// to this file (a tsc-only rebuild must not run an older bundle); run from src/ with tsx, the
// modules load as they are.
import { statSync } from 'node:fs'
import { restoreFlagDefaults } from '../supervisor/heap-flags.js'

// First, before the CLI loads Node's built-ins: a worker's heap flags are no longer needed (see heap-flags.ts).
restoreFlagDefaults()

type Cli = typeof import('./cli.js')
const bundled = new URL('../bundle/cli.js', import.meta.url)
const { runCli } = bundleIsCurrent() ? ((await import(bundled.href)) as Cli) : await import('./cli.js')

process.exitCode = await runCli(process.argv)

function bundleIsCurrent(): boolean {
  const bundle = statSync(bundled, { throwIfNoEntry: false })
  const modules = statSync(new URL('./cli.js', import.meta.url), { throwIfNoEntry: false })
  return bundle !== undefined && modules !== undefined && bundle.mtimeMs >= modules.mtimeMs
}

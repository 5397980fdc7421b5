#!/usr/bin/env node
// `npm run build` also writes dist/src/bundle/: this CLI as a few files instead of ~165 modules.
// Node 20 spends ~0.5 ms per ES module it loads, so the bundle starts `switchyard start` ~50 ms
// sooner in each process (issue #6). Without it (run from src/ with tsx) the modules load as they are.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

type Cli = typeof import('./cli.js')
const bundled = new URL('../bundle/cli.js', import.meta.url)
const { runCli } = existsSync(fileURLToPath(bundled)) ? ((await import(bundled.href)) as Cli) : await import('./cli.js')

process.exitCode = await runCli(process.argv)

// Runs every test/**/*.test.ts in this one process (TOOLCHAIN.md: ~30x faster than a
// process per file). Optional arguments filter files by substring: `npm test -- balancer`.
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))
const filters = process.argv.slice(2)

function collect(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = collect(root, []).filter(
  (f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)),
)
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`)
  process.exit(1)
}
for (const file of files) await import(pathToFileURL(file).href)

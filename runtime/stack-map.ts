/**
 * Maps stack frames of bundled config code back to the user's files. Node does not apply
 * inline source maps to code compiled with vm.compileFunction (measured on Node 20.20,
 * with and without --enable-source-maps), so frames are rewritten here with node:module's
 * SourceMap: `proxy.config.ts.bundle-3.cjs:28:9` → `/app/proxy.config.ts:3:9`.
 */
import { SourceMap } from 'node:module'
import { resolve, dirname } from 'node:path'

interface Registered { map: SourceMap; dir: string }

/** Bundles kept for mapping: the newest few, so in-flight requests of a retired config still map. */
const KEEP = 8
const registry = new Map<string, Registered>()

/** Registers generated code (with an inline source map) compiled under `filename`. */
export function registerBundle(filename: string, code: string): void {
  const marker = '//# sourceMappingURL=data:application/json;base64,'
  const at = code.lastIndexOf(marker)
  if (at < 0) return
  try {
    const payload = JSON.parse(Buffer.from(code.slice(at + marker.length).trim(), 'base64').toString('utf8')) as object
    registry.set(filename, { map: new SourceMap(payload as ConstructorParameters<typeof SourceMap>[0]), dir: dirname(filename) })
    if (registry.size > KEEP) registry.delete(registry.keys().next().value!)
  } catch {
    // A malformed map only costs readable stack traces.
  }
}

/** The stack with frames in registered bundles replaced by original file:line:col. */
export function mapStack(stack: string): string {
  if (registry.size === 0) return stack
  return stack.replace(/([^\s()]+):(\d+):(\d+)/g, (whole, file: string, line: string, column: string) => {
    const entry = registry.get(file)
    if (!entry) return whole
    const found = entry.map.findEntry(Number(line) - 1, Number(column) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number }
    if (found.originalSource === undefined || found.originalLine === undefined) return whole
    const source = found.originalSource.startsWith('file://') ? new URL(found.originalSource).pathname : resolve(entry.dir, found.originalSource)
    return `${source}:${found.originalLine + 1}:${(found.originalColumn ?? 0) + 1}`
  })
}

/**
 * Evaluates a bundled config. The CJS bundle runs through vm.compileFunction with a
 * require rooted at the config's folder: unlike a fresh ESM import() per reload, the
 * module is garbage-collected when replaced (TOOLCHAIN.md: ESM imports leak ~57 MB over
 * 200 reloads; this route ~0). `switchyard` itself resolves to the running copy, so a
 * config gets the same defineConfig/middleware objects as the proxy that loads it.
 */
import vm from 'node:vm'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import * as api from '../index.js'
import * as middleware from '../middleware/index.js'
import * as testing from '../testing/index.js'
import type { ConfigMode } from './types.js'
import { registerBundle } from '../../runtime/stack-map.js'

let loads = 0
/** This package's own entry points, served from the running copy. */
const SELF: Record<string, unknown> = { switchyard: api, 'switchyard/middleware': middleware, 'switchyard/testing': testing }

export async function evaluateConfig(code: string, file: string, mode: ConfigMode): Promise<unknown> {
  const baseRequire = createRequire(file)
  const configRequire = Object.assign((id: string): unknown => SELF[id] ?? baseRequire(id), baseRequire)
  const module = { exports: {} as Record<string, unknown> }
  // A distinct name per load: stack frames are mapped back to the config's sources by it.
  const generated = `${file}.bundle-${++loads}.cjs`
  registerBundle(generated, code)
  const fn = vm.compileFunction(code, ['module', 'exports', 'require', '__filename', '__dirname'], { filename: generated })
  fn(module, module.exports, configRequire, file, dirname(file))
  const exported = module.exports
  let value: unknown = exported && typeof exported === 'object' && 'default' in exported ? exported.default : exported
  if (typeof value === 'function') value = await (value as (env: { mode: ConfigMode }) => unknown)({ mode })
  return await value
}

/** Locates the config file: an explicit path, or the first proxy.config.* in the folder. */
import { existsSync, statSync } from 'node:fs'
import { resolve, join } from 'node:path'

export const CONFIG_NAMES = ['proxy.config.ts', 'proxy.config.mts', 'proxy.config.cts', 'proxy.config.js', 'proxy.config.mjs', 'proxy.config.cjs']

export function findConfig(pathOrDir: string | undefined, cwd = process.cwd()): string {
  const target = resolve(cwd, pathOrDir ?? '.')
  if (existsSync(target) && statSync(target).isFile()) return target
  if (pathOrDir !== undefined && !existsSync(target)) throw new Error(`config file not found: ${target}`)
  for (const name of CONFIG_NAMES) {
    const candidate = join(target, name)
    if (existsSync(candidate)) return candidate
  }
  throw new Error(`no proxy.config.ts (or .mts/.js/.mjs) in ${target} — create one with \`switchyard init\``)
}

/** find → bundle → evaluate → resolve, as one reusable step per (re)load. */
import { readFileSync } from 'node:fs'
import { ConfigBundler, type ConfigBundle } from '../config/bundle-config.js'
import { evaluateConfig } from '../config/load-config.js'
import { resolveConfig } from '../config/resolve-config.js'
import { ConfigError, displayPath } from '../config/config-error.js'
import type { ConfigMode } from '../config/types.js'
import type { ResolvedConfig } from '../../runtime/resolved-config.js'
import { mapStack } from '../../runtime/stack-map.js'

export interface ListenOverride { port?: number; host?: string }

export interface LoadedConfig {
  config: ResolvedConfig
  inputs: string[]
  /** The bundle that was evaluated (a supervisor keeps the last good one for replacements). */
  code: string
}

export class ConfigLoader {
  readonly #bundler: ConfigBundler
  /** Files of the last build attempt, successful or not, so a broken save is still watched. */
  inputs: string[]

  constructor(readonly file: string, readonly mode: ConfigMode, readonly override: ListenOverride = {}) {
    this.#bundler = new ConfigBundler(file)
    this.inputs = [file]
  }

  /** Builds the config file, or evaluates `prebuilt` (a bundle that loaded before) instead. */
  async load(prebuilt?: ConfigBundle): Promise<LoadedConfig> {
    const bundle = prebuilt ?? await this.#bundler.build()
    this.inputs = bundle.inputs
    const shown = displayPath(this.file)
    let value: unknown
    try {
      value = await evaluateConfig(bundle.code, this.file, this.mode)
    } catch (err) {
      throw new ConfigError([describeThrow(err, shown)])
    }
    let config: ResolvedConfig
    try {
      config = resolveConfig(value, this.mode, shown)
    } catch (err) {
      throw err instanceof ConfigError ? err.locate(readFileSync(this.file, 'utf8')) : err
    }
    applyOverride(config, this.override)
    return { config, inputs: bundle.inputs, code: bundle.code }
  }

  /** Frees the compiler (see ConfigBundler.dispose); the next load recreates it. */
  dispose(stopService = false): Promise<void> {
    return this.#bundler.dispose(stopService)
  }
}

/** `--port`/`--host` replace the listeners with one address. */
function applyOverride(config: ResolvedConfig, o: ListenOverride): void {
  if (o.port === undefined && o.host === undefined) return
  const first = config.listen[0] ?? { host: '127.0.0.1', port: 8080 }
  config.listen = [{ host: o.host ?? first.host, port: o.port ?? first.port }]
}

/** Where the config threw (first source-mapped frame in the user's files) and what. */
function describeThrow(err: unknown, file: string): { path: string; message: string } {
  if (!(err instanceof Error)) return { path: file, message: `the config threw ${String(err)}` }
  const stack = mapStack(err.stack ?? '')
  const frame = stack.split('\n').find((l) => /^\s+at /.test(l) && !l.includes('/node_modules/') && !l.includes('(node:') && !/at node:/.test(l))
  const at = frame ? /([^\s()]+):(\d+):(\d+)\)?$/.exec(frame) : null
  return { path: at ? `${displayPath(at[1]!)}:${at[2]}:${at[3]}` : file, message: `threw ${err.name}: ${err.message}` }
}

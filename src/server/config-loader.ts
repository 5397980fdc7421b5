/** find → bundle → evaluate → resolve, as one reusable step per (re)load. */
import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { ConfigBundler } from '../config/bundle-config.js'
import { evaluateConfig } from '../config/load-config.js'
import { resolveConfig } from '../config/resolve-config.js'
import { ConfigError } from '../config/config-error.js'
import type { ConfigMode } from '../config/types.js'
import type { ResolvedConfig } from '../../runtime/resolved-config.js'

export interface ListenOverride { port?: number; host?: string }

export interface LoadedConfig {
  config: ResolvedConfig
  inputs: string[]
}

export class ConfigLoader {
  readonly #bundler: ConfigBundler
  /** Files of the last build attempt, successful or not, so a broken save is still watched. */
  inputs: string[]

  constructor(readonly file: string, readonly mode: ConfigMode, readonly override: ListenOverride = {}) {
    this.#bundler = new ConfigBundler(file)
    this.inputs = [file]
  }

  async load(): Promise<LoadedConfig> {
    const bundle = await this.#bundler.build()
    this.inputs = bundle.inputs
    const shown = relative(process.cwd(), this.file) || this.file
    let value: unknown
    try {
      value = await evaluateConfig(bundle.code, this.file, this.mode)
    } catch (err) {
      throw new ConfigError([{ path: 'evaluating the config', message: describeThrow(err) }], shown)
    }
    let config: ResolvedConfig
    try {
      config = resolveConfig(value, this.mode, shown)
    } catch (err) {
      throw err instanceof ConfigError ? err.locate(readFileSync(this.file, 'utf8')) : err
    }
    applyOverride(config, this.override)
    return { config, inputs: bundle.inputs }
  }

  dispose(): Promise<void> {
    return this.#bundler.dispose()
  }
}

/** `--port`/`--host` replace the listeners with one address. */
function applyOverride(config: ResolvedConfig, o: ListenOverride): void {
  if (o.port === undefined && o.host === undefined) return
  const first = config.listen[0] ?? { host: '127.0.0.1', port: 8080 }
  config.listen = [{ host: o.host ?? first.host, port: o.port ?? first.port }]
}

/** The thrown error's message and the first stack frame inside the user's files (source-mapped). */
function describeThrow(err: unknown): string {
  if (!(err instanceof Error)) return `threw ${String(err)}`
  const frame = err.stack?.split('\n').find((l) => /^\s+at /.test(l) && !l.includes('node_modules') && !l.includes('node:'))
  return `${err.message}${frame ? `\n    ${frame.trim()}` : ''}`
}

/**
 * The control plane around a Runtime: loads the config, starts the runtime, and reloads on
 * file changes (dev) or SIGHUP (start). A reload that fails at any step is logged with
 * file:line and the running config keeps serving.
 */
import type { AddressInfo } from 'node:net'
import { relative } from 'node:path'
import { Runtime } from '../../runtime/runtime.js'
import type { Generation } from '../../runtime/generation.js'
import { ConfigLoader, type ListenOverride } from './config-loader.js'
import type { ConfigWatcher } from '../config/watch-config.js'
import { fingerprint } from '../config/fingerprint.js'
import type { ConfigMode } from '../config/types.js'
import type { ConfigBundle } from '../config/bundle-config.js'
import type { Logger } from '../log/logger.js'

export interface ServerOptions {
  configFile: string
  mode: ConfigMode
  watch: boolean
  log: Logger
  override?: ListenOverride
  /** Keep the log format the CLI chose instead of the config's `log.format`. */
  fixedLogFormat?: boolean
  /** Start from this bundle (one that loaded before) instead of building the config file. */
  initialBundle?: ConfigBundle
  /** Told when a (re)load starts and how it ends (the watchdog and the supervisor listen). */
  onConfig?: (event: ConfigEvent) => void
}

export type ConfigEvent =
  | { type: 'loading'; reload: boolean }
  | { type: 'loaded'; reload: boolean; bundle: ConfigBundle }
  | { type: 'failed'; reload: boolean }

export class SwitchyardServer {
  readonly runtime: Runtime
  readonly #loader: ConfigLoader
  #watcher: ConfigWatcher | undefined

  private constructor(readonly options: ServerOptions) {
    this.runtime = new Runtime({ log: options.log })
    this.#loader = new ConfigLoader(options.configFile, options.mode, options.override)
  }

  /** Loads the config and starts listening; throws (ConfigError) when the first load fails. */
  static async start(options: ServerOptions): Promise<SwitchyardServer> {
    const server = new SwitchyardServer(options)
    let built: string | undefined
    options.onConfig?.({ type: 'loading', reload: false })
    try {
      const { config, inputs, code } = await server.#loader.load(options.initialBundle)
      // What the watcher starts from: the inputs as the build just read them, before the rest of
      // start-up (a save from here on is then seen, though chokidar is not watching yet).
      if (options.watch) built = fingerprint(inputs)
      if (!options.fixedLogFormat) options.log.format = config.log.format
      await server.runtime.load(config)
      options.onConfig?.({ type: 'loaded', reload: false, bundle: { code, inputs } })
      // Without a watcher the compiler is idle until a SIGHUP: don't keep it in memory.
      if (!options.watch) await server.#loader.dispose(true)
    } catch (err) {
      options.onConfig?.({ type: 'failed', reload: false })
      await server.close()
      throw err
    }
    if (options.watch) {
      // Loaded only to watch (`dev`): `start` does not pay for chokidar (~12 ms) on its cold start.
      const { ConfigWatcher } = await import('../config/watch-config.js')
      server.#watcher = new ConfigWatcher(server.#loader.inputs, { built, reload: () => server.#reloadFromWatch() })
      await server.#watcher.ready()
    }
    return server
  }

  get addresses(): AddressInfo[] {
    return this.runtime.addresses()
  }

  get generation(): Generation {
    return this.runtime.generation
  }

  /** Reloads now. Resolves true when the new config serves, false when it failed (logged). */
  async reload(): Promise<boolean> {
    const started = performance.now()
    const shown = relative(process.cwd(), this.options.configFile) || this.options.configFile
    this.options.onConfig?.({ type: 'loading', reload: true })
    try {
      const { config, inputs, code } = await this.#loader.load()
      if (!this.options.fixedLogFormat) this.options.log.format = config.log.format
      const gen = await this.runtime.load(config)
      this.options.log.info(`reloaded ${shown} in ${(performance.now() - started).toFixed(1)} ms (generation ${gen.id}, ${config.routes.length} routes)`)
      this.options.onConfig?.({ type: 'loaded', reload: true, bundle: { code, inputs } })
      return true
    } catch (err) {
      this.options.log.error(`reload failed, still serving the previous config:\n${(err as Error).message}`)
      this.options.onConfig?.({ type: 'failed', reload: true })
      return false
    } finally {
      if (!this.options.watch) await this.#loader.dispose(true)
    }
  }

  async #reloadFromWatch(): Promise<string[]> {
    await this.reload()
    return this.#loader.inputs
  }

  /** Resolves when a watch-triggered reload (if any) has finished. */
  settled(): Promise<void> {
    return this.#watcher?.settled() ?? Promise.resolve()
  }

  async close(drainTimeout?: number): Promise<void> {
    await this.#watcher?.close()
    await this.runtime.close(drainTimeout)
    await this.#loader.dispose()
  }
}

import type { ConfigEnv, SwitchyardConfig } from './types.js'

/**
 * Identity function that gives a config object (or a function of `{ mode }`) its type,
 * so editors autocomplete and check every option. It does nothing at run time.
 */
export function defineConfig(config: SwitchyardConfig): SwitchyardConfig
export function defineConfig(
  config: (env: ConfigEnv) => SwitchyardConfig | Promise<SwitchyardConfig>,
): (env: ConfigEnv) => SwitchyardConfig | Promise<SwitchyardConfig>
export function defineConfig<T>(config: T): T {
  return config
}

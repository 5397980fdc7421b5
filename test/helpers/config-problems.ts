/** The ConfigError message a config value produces (the test fails if it resolves). */
import assert from 'node:assert/strict'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { ConfigError } from '../../src/config/config-error.js'

export function configProblems(config: unknown): string {
  try {
    resolveConfig(config, 'start', 'proxy.config.ts')
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`)
    return err.message
  }
  return assert.fail('expected a ConfigError')
}

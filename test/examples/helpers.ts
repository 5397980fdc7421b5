/** Paths of the examples and a scoped environment for configs that read one. */
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

export function exampleConfig(name: string): string {
  return fileURLToPath(new URL(`../../examples/${name}/proxy.config.ts`, import.meta.url))
}

/** Sets env vars for the rest of the test (the config reads them when it loads). */
export function setEnv(t: TestContext, vars: Record<string, string>): void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  t.after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  })
}

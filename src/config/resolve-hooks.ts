/** `use` (middleware lists) and `hooks` (one set of hooks), globally and per route. */
import type { Middleware } from './hooks.js'
import { describe } from './units.js'
import { Problems, isRecord } from './validate.js'

export const PHASES = ['onRequest', 'selectUpstream', 'onUpstreamRequest', 'onUpstreamResponse', 'onResponse', 'onError', 'onLog'] as const

/** `use` entries then `hooks` as one ordered list of layers; problems name the key path. */
export function resolveLayers(use: unknown, hooks: unknown, path: string, p: Problems): Middleware[] {
  const layers: Middleware[] = []
  const prefix = path === '' ? '' : `${path}.`
  if (use !== undefined) {
    if (!Array.isArray(use)) p.add(`${prefix}use`, `expected an array of middleware (e.g. [cors(), rateLimit({ ... })]), got ${describe(use)}`)
    else use.forEach((m, i) => {
      const at = `${prefix}use[${i}]`
      if (!isRecord(m)) return p.add(at, `expected a middleware object, got ${describe(m)}${typeof m === 'function' ? ' (did you forget to call it, e.g. cors() instead of cors?)' : ''}`)
      if (typeof m.name !== 'string' || m.name === '') return p.add(`${at}.name`, `a middleware needs a name, got ${describe(m.name)}`)
      if (checkHooks(m, at, p, ['name'])) layers.push(m as unknown as Middleware)
    })
  }
  if (hooks !== undefined) {
    const at = `${prefix}hooks`
    if (!isRecord(hooks)) p.add(at, `expected { onRequest?, onResponse?, ... }, got ${describe(hooks)}`)
    else if (checkHooks(hooks, at, p, [])) layers.push({ ...(hooks as object), name: path === '' ? 'hooks' : `${path}.hooks` } as Middleware)
  }
  return layers
}

function checkHooks(value: Record<string, unknown>, path: string, p: Problems, extra: string[]): boolean {
  let ok = true
  for (const [key, fn] of Object.entries(value)) {
    if ((PHASES as readonly string[]).includes(key)) {
      if (typeof fn !== 'function') {
        p.add(`${path}.${key}`, `expected a function, got ${describe(fn)}`)
        ok = false
      }
    } else if (!extra.includes(key) && path.endsWith('hooks')) {
      p.add(`${path}.${key}`, `unknown phase (known: ${PHASES.join(', ')})`, key)
      ok = false
    }
  }
  return ok
}

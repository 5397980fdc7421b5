/**
 * The hooks that apply to one route, flattened once per Generation into per-phase lists in
 * the order they run (ARCHITECTURE.md phases; order documented in src/config/hooks.ts).
 * A route with no hooks gets `undefined`, so the hot path tests one field.
 */
import type { Hooks, Middleware } from '../../src/config/hooks.js'

type Fn<K extends keyof Hooks> = NonNullable<Hooks[K]>

export interface Named<F> { name: string; fn: F }

export interface RouteHooks {
  onRequest: Named<Fn<'onRequest'>>[]
  selectUpstream: Named<Fn<'selectUpstream'>>[]
  onUpstreamRequest: Named<Fn<'onUpstreamRequest'>>[]
  /** Reverse order: the first middleware listed sees the response last. */
  onUpstreamResponse: Named<Fn<'onUpstreamResponse'>>[]
  onResponse: Named<Fn<'onResponse'>>[]
  onError: Named<Fn<'onError'>>[]
  onLog: Named<Fn<'onLog'>>[]
}

/** `layers` in declaration order: global use, global hooks, route use, route hooks. */
export function buildRouteHooks(layers: ReadonlyArray<Middleware>): RouteHooks | undefined {
  const hooks: RouteHooks = {
    onRequest: [], selectUpstream: [], onUpstreamRequest: [], onUpstreamResponse: [], onResponse: [], onError: [], onLog: [],
  }
  let any = false
  for (const layer of layers) {
    for (const phase of Object.keys(hooks) as Array<keyof RouteHooks>) {
      const fn = layer[phase]
      if (typeof fn !== 'function') continue
      ;(hooks[phase] as Named<unknown>[]).push({ name: layer.name, fn: fn.bind(layer) })
      any = true
    }
  }
  if (!any) return undefined
  hooks.onUpstreamResponse.reverse()
  hooks.onResponse.reverse()
  return hooks
}

// What every lookup needs to know about a stored response — its Cache-Control, the fields its
// Vary nominates, its corrected initial age, its freshness lifetime — parsed once per stored
// entry instead of on every hit. Only frozen entries (with frozen header lists) are remembered:
// they cannot change, so their facts cannot go stale. The memory store hands out frozen entries
// that live as long as the stored response; entries from other sources are parsed each time.
import { responseCacheControl, type CacheControl } from './cache-control.js'
import { correctedInitialAge, freshnessLifetime, type FreshnessOptions, type StoredTimes } from './freshness.js'
import type { HeaderSource } from './headers.js'
import { varyFields } from './vary.js'

/** A stored response as the policy sees it. */
export interface StoredResponse extends StoredTimes {
  readonly status: number
  readonly headers: HeaderSource
}

export interface EntryFacts {
  readonly cc: Readonly<CacheControl>
  /** Lowercase field names nominated by Vary (empty without Vary), or '*'. */
  readonly vary: readonly string[] | '*'
  /** corrected_initial_age (RFC 9111 §4.2.3), ms. */
  readonly initialAge: number
  /** Freshness lifetime (ms) for `lifetimeOptions`, the options last asked about. */
  lifetime: number
  lifetimeOptions: FreshnessOptions | undefined
}

const remembered = new WeakMap<object, EntryFacts>()

function compute(e: StoredResponse): EntryFacts {
  return { cc: responseCacheControl(e.headers), vary: varyFields(e.headers), initialAge: correctedInitialAge(e), lifetime: 0, lifetimeOptions: undefined }
}

/** The facts of a stored response, remembered for frozen entries. */
export function entryFacts(e: StoredResponse): EntryFacts {
  let f = remembered.get(e)
  if (f !== undefined) return f
  f = compute(e)
  if (Object.isFrozen(e) && Object.isFrozen(e.headers)) remembered.set(e, f)
  return f
}

/** freshnessLifetime(e) for `options` (route options are long-lived objects: one remembered per entry). */
export function entryLifetime(e: StoredResponse, f: EntryFacts, options: FreshnessOptions): number {
  if (f.lifetimeOptions === options) return f.lifetime
  const lifetime = freshnessLifetime(e, e.responseTime, options, f.cc).lifetime
  f.lifetime = lifetime
  f.lifetimeOptions = options
  return lifetime
}

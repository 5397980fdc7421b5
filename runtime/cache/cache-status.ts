// Cache-Status response field (RFC 9211): one Structured Field list member per cache, appended
// after members added by caches nearer the origin (§2).
import { isToken } from './headers.js'

export const CACHE_NAME = 'switchyard'

/** Why the request went forward (RFC 9211 §2.2). */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'miss' | 'request' | 'stale' | 'partial'

export interface CacheStatusParams {
  /** Served from cache without going forward (§2.1). Exclusive with `fwd`. */
  hit?: boolean
  fwd?: ForwardReason
  /** Status the next hop returned (§2.3). */
  fwdStatus?: number
  /** Remaining freshness in ms; sent as whole seconds, negative when stale (§2.4). */
  ttlMs?: number
  /** Whether the response was stored (§2.5). */
  stored?: boolean
  collapsed?: boolean
  /** Cache key, as a string (§2.7). */
  key?: string
  /** Implementation detail: a token or a string (§2.8). */
  detail?: string
}

/** sf-string serialisation (RFC 8941 §4.1.6): printable ASCII, `"` and `\` escaped. */
function sfString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** sf-token when the value fits RFC 8941's token grammar, else sf-string. */
function tokenOrString(s: string): string {
  return /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/.test(s) ? s : sfString(s)
}

/** One member, e.g. `switchyard; hit; ttl=120` or `switchyard; fwd=uri-miss; stored`. */
export function cacheStatus(p: CacheStatusParams, name: string = CACHE_NAME): string {
  const parts = [tokenOrString(name)]
  if (p.hit) parts.push('hit')
  else if (p.fwd) parts.push(`fwd=${p.fwd}`)
  if (p.fwdStatus !== undefined) parts.push(`fwd-status=${Math.trunc(p.fwdStatus)}`)
  if (p.ttlMs !== undefined) parts.push(`ttl=${Math.floor(p.ttlMs / 1000)}`)
  if (p.stored) parts.push('stored')
  if (p.collapsed) parts.push('collapsed')
  if (p.key !== undefined) parts.push(`key=${sfString(p.key)}`)
  if (p.detail !== undefined) parts.push(`detail=${isToken(p.detail) ? tokenOrString(p.detail) : sfString(p.detail)}`)
  return parts.join('; ')
}

const HIT_TTL = `${CACHE_NAME}; hit; ttl=`

/** `cacheStatus({ hit: true, ttlMs })`, without building it piece by piece: every hit sends one. */
export function hitStatus(ttlMs: number): string {
  return HIT_TTL + Math.floor(ttlMs / 1000)
}

/** The field value with `member` appended to what upstream caches already wrote. */
export function appendCacheStatus(existing: string | readonly string[] | undefined, member: string): string {
  const prior = (typeof existing === 'string' ? [existing] : existing ?? []).map((s) => s.trim()).filter((s) => s !== '')
  return [...prior, member].join(', ')
}

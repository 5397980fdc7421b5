/**
 * Just enough JWT (RFC 7519) for a gateway: HS256 sign and verify with node:crypto, no
 * dependencies. Verification checks the header's `alg` (only HS256: never `none`), the
 * signature in constant time, and `exp`/`nbf` with a little clock skew.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface JwtClaims {
  sub?: string
  exp?: number
  nbf?: number
  iat?: number
  [claim: string]: unknown
}

export type VerifyResult = { ok: true; claims: JwtClaims } | { ok: false; reason: string }

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url')

export function signJwt(claims: JwtClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))
  const body = b64url(JSON.stringify(claims))
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}

export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000), skewSeconds = 30): VerifyResult {
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' }
  const [head, body, sig] = parts as [string, string, string]
  let header: { alg?: unknown }
  let claims: JwtClaims
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: unknown }
    claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as JwtClaims
  } catch {
    return { ok: false, reason: 'malformed token' }
  }
  if (header.alg !== 'HS256') return { ok: false, reason: `unsupported alg ${String(header.alg)}` }
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest()
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad signature' }
  if (typeof claims.exp === 'number' && nowSeconds > claims.exp + skewSeconds) return { ok: false, reason: 'token expired' }
  if (typeof claims.nbf === 'number' && nowSeconds + skewSeconds < claims.nbf) return { ok: false, reason: 'token not yet valid' }
  return { ok: true, claims }
}

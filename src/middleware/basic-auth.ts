/**
 * `basicAuth()`: HTTP Basic authentication (RFC 7617). Missing or wrong credentials get `401`
 * with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`; on success the user name is in
 * `ctx.state.user`.
 *
 * ```ts
 * import { basicAuth, hashPassword } from 'switchyard/middleware'
 * // once, offline:  console.log(await hashPassword('s3cret'))  →  'scrypt$16384$8$1$…$…'
 * use: [basicAuth({
 *   realm: 'admin',
 *   users: { ada: { hash: 'scrypt$16384$8$1$3q2+7w…$kVh…' }, ci: process.env.CI_PASSWORD! },
 * })]
 * // or check against something else:
 * use: [basicAuth({ users: async (user, pass) => lookup(user, pass) })]
 * ```
 * Passwords are compared in constant time (plain ones through a SHA-256 digest, so their length
 * does not leak either) and unknown users cost as much as known ones. Hashes are
 * `scrypt$N$r$p$salt$key` (base64), made by `hashPassword`. A successful scrypt check is
 * remembered (as an HMAC of the credentials under a per-process random key, at most 1000) so a
 * client sending the same credentials does not pay for scrypt on every request.
 */
import { createHash, createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { Middleware } from '../config/hooks.js'

export type UserEntry = string | { hash: string }
export type CheckFn = (user: string, password: string) => boolean | Promise<boolean>

export interface BasicAuthOptions {
  users: Record<string, UserEntry> | CheckFn
  /** Shown by browsers in the login prompt, default 'Restricted'. */
  realm?: string
}

function scrypt(password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))))
}

export interface HashOptions {
  /** CPU/memory cost, a power of two; default 16384 (~50 ms). */
  N?: number
  r?: number
  p?: number
}

/** A storable hash for `basicAuth` users: `'scrypt$N$r$p$salt$key'`. */
export async function hashPassword(password: string, options: HashOptions = {}): Promise<string> {
  const N = options.N ?? 16384
  const r = options.r ?? 8
  const p = options.p ?? 1
  const salt = randomBytes(16)
  const key = await scrypt(password.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 })
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`
}

interface ParsedHash { N: number; r: number; p: number; salt: Buffer; key: Buffer }

export function parseHash(hash: string): ParsedHash {
  const parts = hash.split('$')
  const [scheme, n, r, p, salt, key] = parts
  const N = Number(n)
  if (parts.length !== 6 || scheme !== 'scrypt' || !(N > 1 && (N & (N - 1)) === 0) || !(Number(r) > 0) || !(Number(p) > 0) || !salt || !key) {
    throw new TypeError(`basicAuth(): not a hash made by hashPassword: '${hash.slice(0, 20)}…'`)
  }
  return { N, r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') }
}

/** Constant-time check of `password` against a `hashPassword` hash. */
export async function verifyPassword(password: string, hash: string | ParsedHash): Promise<boolean> {
  const h = typeof hash === 'string' ? parseHash(hash) : hash
  const key = await scrypt(password.normalize('NFC'), h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 })
  return timingSafeEqual(key, h.key)
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest()

/** user:password from an `Authorization: Basic …` value, or undefined. */
export function parseBasic(header: string | null): { user: string; password: string } | undefined {
  if (!header) return undefined
  const m = /^\s*basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header)
  if (!m) return undefined
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

type Verifier = (user: string, password: string) => Promise<boolean>

function tableVerifier(users: Record<string, UserEntry>): Verifier {
  const plain = new Map<string, Buffer>()
  const hashed = new Map<string, ParsedHash>()
  for (const [name, entry] of Object.entries(users)) {
    if (typeof entry === 'string') plain.set(name, sha256(entry))
    else if (entry && typeof entry.hash === 'string') hashed.set(name, parseHash(entry.hash))
    else throw new TypeError(`basicAuth(): users.${name}: expected a password string or { hash }`)
  }
  const dummy = sha256(randomBytes(16).toString('hex'))
  const remembered = new Map<string, true>()
  const secret = randomBytes(32)
  return async (user, password) => {
    const h = hashed.get(user)
    if (h) {
      const mark = createHmac('sha256', secret).update(user).update('\0').update(password).digest('base64')
      if (remembered.has(mark)) return true
      const ok = await verifyPassword(password, h)
      if (ok) {
        if (remembered.size >= 1000) remembered.delete(remembered.keys().next().value!)
        remembered.set(mark, true)
      }
      return ok
    }
    const expected = plain.get(user)
    // Unknown users are compared against a random digest: same work, always false.
    const equal = timingSafeEqual(sha256(password), expected ?? dummy)
    return equal && expected !== undefined
  }
}

export function basicAuth(options: BasicAuthOptions): Middleware {
  const realm = (options.realm ?? 'Restricted').replace(/["\\]/g, '')
  const verify: Verifier = typeof options.users === 'function'
    ? async (u, p) => (await (options.users as CheckFn)(u, p)) === true
    : tableVerifier(options.users)
  const challenge = `Basic realm="${realm}", charset="UTF-8"`
  const deny = (): Response => new Response('Unauthorized', {
    status: 401,
    headers: { 'www-authenticate': challenge, 'content-type': 'text/plain; charset=utf-8' },
  })
  return {
    name: 'basicAuth',
    async onRequest(ctx) {
      const creds = parseBasic(ctx.headers.get('authorization'))
      if (!creds) return deny()
      if (!(await verify(creds.user, creds.password))) return deny()
      ctx.state.user = creds.user
      return undefined
    },
  }
}

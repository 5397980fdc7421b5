/**
 * `redisRateLimitStore()`: rate-limit counters in Redis, shared by every proxy instance that uses
 * the same Redis and prefix. Each request is one atomic Lua script (EVALSHA), so concurrent
 * instances never over-admit.
 *
 * ```ts
 * import { rateLimit, redisRateLimitStore } from 'switchyard/middleware'
 * const store = redisRateLimitStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: 'myapp:rl:' })
 * use: [rateLimit({ limit: 100, window: '1m', store })]
 * ```
 * The connection is opened on first use. Commands fail fast while Redis is unreachable (no
 * offline queue, 500 ms command timeout), so the middleware fails open at once; ioredis keeps
 * reconnecting in the background. Time comes from the proxies' clocks (keep them in NTP sync).
 * Keys: `<prefix><key>` hashes, expiring after two windows of disuse.
 *
 * `close()` ends the connection this store opened (QUIT, resolved once the server has closed
 * it); the proxy calls it through `rateLimit`'s `close()` when a reload retires the config and
 * on shutdown. A store used again after `close()` opens a new connection.
 */
import type { Redis, RedisOptions } from 'ioredis'
import { bucketDecision, windowDecision, type RateLimitDecision, type RateLimitPolicy, type RateLimitStore } from './rate-limit.js'

export interface RedisRateLimitStoreOptions {
  /** A `redis://` URL (ignored when `client` is given). Default redis://127.0.0.1:6379. */
  url?: string
  /** Extra ioredis options for the client this store creates. */
  redis?: RedisOptions
  /** An existing client (not closed by `close()`); disable its offline queue to fail fast. */
  client?: Redis
  /** Key prefix, default 'switchyard:rl:'. */
  prefix?: string
}

const TOKEN_BUCKET = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local rate = limit / window
local s = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = limit; at = now end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(limit, tokens + elapsed * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
if now < at then now = at end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2))
return { allowed, string.format('%.17g', tokens) }
`

const SLIDING_WINDOW = `
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local w = math.floor(now / window)
local s = redis.call('HMGET', KEYS[1], 'w', 'c', 'p')
local sw = tonumber(s[1])
local c = 0
local p = 0
if sw ~= nil then
  if sw >= w then w = sw; c = tonumber(s[2]) or 0; p = tonumber(s[3]) or 0
  elseif sw == w - 1 then p = tonumber(s[2]) or 0 end
end
local elapsed = now - w * window
if elapsed < 0 then elapsed = 0 end
local estimate = p * (1 - elapsed / window) + c
local allowed = 0
if estimate + 1 <= limit then c = c + 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'w', w, 'c', c, 'p', p)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2))
return { allowed, w, c, p }
`

type RateLimitCommands = Redis & {
  switchyardTokenBucket(key: string, limit: number, window: number, now: number): Promise<[number, string]>
  switchyardSlidingWindow(key: string, limit: number, window: number, now: number): Promise<[number, number, number, number]>
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly prefix: string
  #client: RateLimitCommands | undefined
  #ready: Promise<void> | undefined
  readonly #owned: boolean
  readonly #options: RedisRateLimitStoreOptions

  constructor(options: RedisRateLimitStoreOptions = {}) {
    this.prefix = options.prefix ?? 'switchyard:rl:'
    this.#options = options
    this.#owned = options.client === undefined
  }

  /** The client once the first request created it (ioredis is only loaded then). */
  get client(): Redis | undefined {
    return this.#client
  }

  #connect(): Promise<void> {
    return (this.#ready ??= this.#create())
  }

  async #create(): Promise<void> {
    const o = this.#options
    let client = o.client
    if (!client) {
      const { Redis: RedisClient } = await import('ioredis')
      client = new RedisClient(o.url ?? 'redis://127.0.0.1:6379', {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 1000,
        commandTimeout: 500,
        retryStrategy: (times: number) => Math.min(times * 100, 1000),
        ...o.redis,
      })
      // Reported through failed commands (the middleware fails open), not as process errors.
      client.on('error', () => {})
    }
    client.defineCommand('switchyardTokenBucket', { numberOfKeys: 1, lua: TOKEN_BUCKET })
    client.defineCommand('switchyardSlidingWindow', { numberOfKeys: 1, lua: SLIDING_WINDOW })
    this.#client = client as RateLimitCommands
    if (client.status === 'wait') await client.connect().catch(() => {})
  }

  async consume(key: string, policy: RateLimitPolicy, now: number): Promise<RateLimitDecision> {
    await this.#connect()
    const client = this.#client
    if (!client) throw new Error('redis rate-limit store is closing')
    const k = this.prefix + key
    if (policy.algorithm === 'token-bucket') {
      const [allowed, tokens] = await client.switchyardTokenBucket(k, policy.limit, policy.windowMs, now)
      return bucketDecision(allowed === 1, Number(tokens), policy)
    }
    const [allowed, window, current, previous] = await client.switchyardSlidingWindow(k, policy.limit, policy.windowMs, now)
    return windowDecision(allowed === 1, { window: Number(window), current: Number(current), previous: Number(previous) }, policy, now)
  }

  async close(): Promise<void> {
    const ready = this.#ready
    if (!ready) return
    await ready
    if (this.#ready !== ready) return // closed (and maybe reopened) meanwhile
    const c = this.#client
    this.#client = undefined
    this.#ready = undefined
    if (!c || !this.#owned) return
    const ended = new Promise<void>((resolve) => {
      if (c.status === 'end') return resolve()
      c.once('end', () => resolve())
    })
    // QUIT lets Redis answer what is in flight, then close; a dead connection is just dropped.
    await c.quit().catch(() => c.disconnect())
    let timer: NodeJS.Timeout | undefined
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))])
    clearTimeout(timer)
  }
}

export function redisRateLimitStore(options: RedisRateLimitStoreOptions = {}): RedisRateLimitStore {
  return new RedisRateLimitStore(options)
}

// CacheStore on Redis (ioredis). Layout under `prefix` (default 'switchyard:cache:'):
//   <p>k:<key>          HASH variantKey → meta JSON      (PEXPIRE grows to the longest variant)
//   <p>b:<key>\0<vk>    STRING bodyId + body bytes       (PX = expiresAt − now)
//   <p>t:<tag>          SET of <key>\0<vk>               (PEXPIRE grows like the index)
// The body carries the id recorded in its meta, so a body replaced between `get` and `body()` is
// never served under the old headers. Expired variants left in an index hash are skipped and
// removed lazily. Redis being down never throws into the request path: get → undefined,
// put/updateMeta → false, delete → no-op, with one warning per outage; ioredis reconnects.
import { randomBytes } from 'node:crypto'
import type { Redis, RedisOptions } from 'ioredis'
import { createRequire } from 'node:module'

/** ioredis, loaded when the first Redis store is made: a proxy without one never pays its ~15 MiB and ~40 ms of startup. */
function redisClass(): typeof Redis {
  return (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis
}
import { keyPath } from './cache-key.js'
import { metaBytes, readBody, type BodySource, type CacheStore, type NewEntry, type StoredEntry, type StoredMeta } from './store.js'

export type StoreLog = (level: 'warn' | 'info', message: string) => void

export interface RedisStoreOptions {
  /** A `redis://` URL or ioredis options; ignored when `client` is given. */
  redis?: string | RedisOptions
  /** An existing client (its offline queue should be disabled, see `clientOptions`). */
  client?: Redis
  /** Key namespace, default 'switchyard:cache:'. */
  prefix?: string
  /** Largest body accepted, default 8 MiB (the body is buffered up to this before writing). */
  maxObjectSize?: number
  /** Upper bound on SCAN iterations per purgePrefix (COUNT 1000 each), default 1000. */
  maxScanIterations?: number
  now?: () => number
  log?: StoreLog
}

/** Client options so a cache lookup fails fast instead of queueing while Redis is away. */
export function clientOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    commandTimeout: 500,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
    ...extra,
  }
}

const SEP = '\u0000'
const DELETE_IF_SAME = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0"
const ID_BYTES = 16

interface MetaRecord extends StoredMeta {
  bodyId: string
}

export class RedisStore implements CacheStore {
  readonly client: Redis
  readonly maxObjectSize: number
  private readonly prefix: string
  private readonly maxScan: number
  private readonly now: () => number
  private readonly log: StoreLog
  private healthy: boolean
  private down = false
  private closing = false

  constructor(options: RedisStoreOptions = {}) {
    this.prefix = options.prefix ?? 'switchyard:cache:'
    this.maxObjectSize = options.maxObjectSize ?? 8 * 1024 * 1024
    this.maxScan = options.maxScanIterations ?? 1000
    this.now = options.now ?? Date.now
    this.log = options.log ?? ((level, message) => console[level](message))
    const r = options.redis
    this.client = options.client ?? (typeof r === 'string' ? new (redisClass())(r, clientOptions()) : new (redisClass())(clientOptions(r)))
    this.healthy = this.client.status === 'ready'
    this.client.on('ready', () => {
      this.healthy = true
      if (this.down) {
        this.down = false
        this.log('info', 'redis cache store: connection restored')
      }
    })
    this.client.on('error', (err: Error) => this.markDown(err))
    this.client.on('close', () => this.markDown())
  }

  isHealthy(): boolean {
    return this.healthy
  }

  /** Resolves true once connected (false after `timeoutMs`): lets startup warm up before serving. */
  whenReady(timeoutMs = 1000): Promise<boolean> {
    if (this.healthy) return Promise.resolve(true)
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer)
        this.client.off('ready', onReady)
        resolve(ok)
      }
      const onReady = (): void => done(true)
      const timer = setTimeout(() => done(this.healthy), timeoutMs)
      this.client.on('ready', onReady)
    })
  }

  async get(key: string): Promise<StoredEntry[] | undefined> {
    if (!this.healthy) return undefined
    try {
      const index = this.indexKey(key)
      const all = await this.client.hgetall(index)
      const now = this.now()
      const out: StoredEntry[] = []
      for (const [variantKey, json] of Object.entries(all)) {
        const rec = parseMeta(json)
        if (rec && rec.expiresAt > now) out.push(this.view(rec))
        // Drop the dead field, unless a concurrent put has replaced it meanwhile.
        else void this.client.eval(DELETE_IF_SAME, 1, index, variantKey, json).catch(() => undefined)
      }
      return out.length > 0 ? out : undefined
    } catch (err) {
      this.markDown(err)
      return undefined
    }
  }

  async put(entry: NewEntry, body: BodySource): Promise<boolean> {
    if (!this.healthy) return false
    const buf = await readBody(body, this.maxObjectSize) // (copied below, with the body id in front)
    if (!buf) return false
    const ttl = Math.ceil(entry.expiresAt - this.now())
    if (ttl <= 0) return false
    const bodyId = randomBytes(ID_BYTES / 2).toString('hex')
    const rec: MetaRecord = { ...copy(entry), size: buf.byteLength + metaBytes(entry), bodyId }
    const id = entry.key + SEP + entry.variantKey
    try {
      const tx = this.client.multi()
      tx.set(this.bodyKey(id), Buffer.concat([Buffer.from(bodyId, 'latin1'), buf]), 'PX', ttl)
      this.writeMeta(tx, rec, id, ttl)
      await tx.exec()
      return true
    } catch (err) {
      this.markDown(err)
      return false
    }
  }

  async updateMeta(entry: NewEntry): Promise<boolean> {
    if (!this.healthy) return false
    const id = entry.key + SEP + entry.variantKey
    try {
      const ttl = Math.ceil(entry.expiresAt - this.now())
      const old = parseMeta((await this.client.hget(this.indexKey(entry.key), entry.variantKey)) ?? '')
      if (!old || ttl <= 0 || (await this.client.exists(this.bodyKey(id))) === 0) return false
      const rec: MetaRecord = { ...copy(entry), size: old.size - metaBytes(old) + metaBytes(entry), bodyId: old.bodyId }
      const tx = this.client.multi()
      tx.pexpire(this.bodyKey(id), ttl)
      this.writeMeta(tx, rec, id, ttl)
      await tx.exec()
      return true
    } catch (err) {
      this.markDown(err)
      return false
    }
  }

  async delete(key: string, variantKey?: string): Promise<void> {
    if (!this.healthy) return
    try {
      const index = this.indexKey(key)
      const variants = variantKey !== undefined ? [variantKey] : await this.client.hkeys(index)
      if (variants.length === 0) return
      await this.client.multi().hdel(index, ...variants).del(...variants.map((v) => this.bodyKey(key + SEP + v))).exec()
    } catch (err) {
      this.markDown(err)
    }
  }

  /** Rejects when Redis is unreachable: purges come from the admin path, which should know. */
  async purgeTag(tag: string): Promise<number> {
    const tagKey = this.prefix + 't:' + tag
    const ids = await this.client.smembers(tagKey)
    let n = 0
    for (const id of ids) {
      const [key, variantKey] = splitId(id)
      // The set may list entries re-stored since without this tag: check the current meta.
      const rec = parseMeta((await this.client.hget(this.indexKey(key), variantKey)) ?? '')
      if (rec?.tags.includes(tag)) n += await this.removeVariant(key, variantKey)
    }
    await this.client.del(tagKey)
    return n
  }

  /** SCANs index keys (bounded by `maxScanIterations`); rejects when Redis is unreachable. */
  async purgePrefix(prefix: string): Promise<number> {
    return this.purgeScan(globEscape(this.prefix + 'k:' + prefix) + '*', (key) => key.startsWith(prefix))
  }

  /** Like purgePrefix, matching `*://*<path>*` and then checking the path exactly. */
  async purgePathPrefix(path: string): Promise<number> {
    const pattern = globEscape(this.prefix + 'k:') + '*://*' + globEscape(path) + '*'
    return this.purgeScan(pattern, (key) => keyPath(key)?.startsWith(path) === true)
  }

  private async purgeScan(pattern: string, match: (key: string) => boolean): Promise<number> {
    const head = this.prefix + 'k:'
    let cursor = '0'
    let n = 0
    for (let i = 0; i < this.maxScan; i++) {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      for (const index of keys) {
        const key = index.slice(head.length)
        if (!match(key)) continue
        for (const v of await this.client.hkeys(index)) n += await this.removeVariant(key, v)
      }
      cursor = next
      if (cursor === '0') break
    }
    return n
  }

  async close(): Promise<void> {
    this.closing = true
    this.healthy = false
    try {
      await this.client.quit()
    } catch {
      this.client.disconnect()
    }
  }

  private async removeVariant(key: string, variantKey: string): Promise<number> {
    const res = await this.client.multi().hdel(this.indexKey(key), variantKey).del(this.bodyKey(key + SEP + variantKey)).exec()
    return Number(res?.[0]?.[1] ?? 0)
  }

  private writeMeta(tx: ReturnType<Redis['multi']>, rec: MetaRecord, id: string, ttl: number): void {
    const index = this.indexKey(rec.key)
    tx.hset(index, rec.variantKey, JSON.stringify(rec))
    // NX sets a first TTL, GT only ever lengthens it: the hash lives as long as its longest variant.
    tx.pexpire(index, ttl, 'NX').pexpire(index, ttl, 'GT')
    for (const tag of rec.tags) {
      const tagKey = this.prefix + 't:' + tag
      tx.sadd(tagKey, id).pexpire(tagKey, ttl, 'NX').pexpire(tagKey, ttl, 'GT')
    }
  }

  private view(rec: MetaRecord): StoredEntry {
    const { bodyId, ...meta } = rec
    const bodyKey = this.bodyKey(rec.key + SEP + rec.variantKey)
    return {
      ...meta,
      body: async () => {
        try {
          const raw = await this.client.getBuffer(bodyKey)
          if (!raw || raw.subarray(0, ID_BYTES).toString('latin1') !== bodyId) return undefined
          const bytes = raw.subarray(ID_BYTES)
          return (async function* () {
            yield bytes
          })()
        } catch (err) {
          this.markDown(err)
          return undefined
        }
      },
    }
  }

  private markDown(err?: unknown): void {
    if (this.closing) return
    // A command error from a live connection (e.g. a script error) is not an outage.
    if (err !== undefined && this.client.status === 'ready' && !isConnectionError(err)) return
    this.healthy = false
    // A timeout on a connection ioredis still thinks is fine (a hung server): force a reconnect
    // cycle, so that 'ready' fires, and health returns, once the server answers again.
    if (this.client.status === 'ready') this.client.disconnect(true)
    if (this.down) return
    this.down = true
    const why = err instanceof Error ? `: ${err.message}` : ''
    this.log('warn', `redis cache store unavailable${why}; serving without the cache until it reconnects`)
  }

  private indexKey(key: string): string {
    return this.prefix + 'k:' + key
  }

  private bodyKey(id: string): string {
    return this.prefix + 'b:' + id
  }
}

function isConnectionError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : ''
  return /timed? ?out|ECONN|EPIPE|closed|writeable|max retries|connect/i.test(msg)
}

function splitId(id: string): [string, string] {
  const i = id.indexOf(SEP)
  return i === -1 ? [id, ''] : [id.slice(0, i), id.slice(i + 1)]
}

function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

function copy(e: NewEntry): Omit<StoredMeta, 'size'> {
  return {
    key: e.key, variantKey: e.variantKey, status: e.status, headers: e.headers.map(([n, v]) => [n, v]),
    requestTime: e.requestTime, responseTime: e.responseTime, expiresAt: e.expiresAt, tags: [...new Set(e.tags)],
  }
}

function parseMeta(json: string): MetaRecord | undefined {
  try {
    const v = JSON.parse(json) as MetaRecord
    return typeof v.key === 'string' && Array.isArray(v.headers) && typeof v.bodyId === 'string' ? v : undefined
  } catch {
    return undefined
  }
}

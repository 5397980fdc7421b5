/**
 * The admin API: a listener of its own (config `admin: { listen, token? }`, default off).
 *   GET  /health        → 200 { status: 'ok', stores: [{ id, healthy }] }
 *   POST /cache/purge   → body { key } | { url } | { prefix } | { tag } → 200 { purged: n }
 * With a token, every request needs `Authorization: Bearer <token>` (401 otherwise).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { timingSafeEqual } from 'node:crypto'
import type { ResolvedAdmin } from '../../runtime/cache/cache-config.js'
import type { RuntimeLog } from '../../runtime/log.js'
import type { CacheStore } from '../../runtime/cache/store.js'
import { purge, type PurgeRequest } from '../../runtime/cache/purge.js'

export interface AdminBackend {
  /** The cache stores currently open, with their ids. */
  stores(): Array<[string, CacheStore]>
}

const MAX_BODY = 64 * 1024
const PURGE_FIELDS = ['key', 'url', 'prefix', 'tag'] as const

export class AdminServer {
  #server: Server | undefined
  #settings: ResolvedAdmin | undefined

  constructor(readonly backend: AdminBackend, readonly log: RuntimeLog) {}

  address(): AddressInfo | undefined {
    return (this.#server?.address() as AddressInfo | null) ?? undefined
  }

  /** Starts, moves or stops the listener to match `settings` (undefined = off). */
  async sync(settings: ResolvedAdmin | undefined): Promise<void> {
    const cur = this.#settings
    const same = cur && settings && cur.listen.host === settings.listen.host && (cur.listen.port === settings.listen.port || settings.listen.port === 0)
    this.#settings = settings
    if (same && this.#server) return
    await this.close()
    this.#settings = settings
    if (!settings) return
    const server = createServer((req, res) => void this.#handle(req, res))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(settings.listen.port, settings.listen.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.#server = server
    const a = server.address() as AddressInfo
    this.log.info(`admin API listening on http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`)
  }

  async close(): Promise<void> {
    const server = this.#server
    this.#server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!this.#authorized(req)) return json(res, 401, { error: 'missing or wrong bearer token' }, ['www-authenticate', 'Bearer'])
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/health') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'use GET' }, ['allow', 'GET, HEAD'])
        const stores = this.backend.stores().map(([id, s]) => ({ id: id.replace(/\/\/[^@/]*@/, '//***@'), healthy: s.isHealthy() }))
        return json(res, 200, { status: 'ok', stores })
      }
      if (path === '/cache/purge') {
        if (req.method !== 'POST') return json(res, 405, { error: 'use POST' }, ['allow', 'POST'])
        const body = await readJson(req)
        const request = parsePurge(body)
        if (typeof request === 'string') return json(res, 400, { error: request })
        try {
          const purged = await purge(this.backend.stores().map(([, s]) => s), request)
          this.log.info(`cache purge ${JSON.stringify(request)}: ${purged} entries`)
          return json(res, 200, { purged })
        } catch (err) {
          return json(res, 503, { error: `purge failed: ${(err as Error).message}` })
        }
      }
      return json(res, 404, { error: 'not found; try GET /health or POST /cache/purge' })
    } catch (err) {
      return json(res, 400, { error: (err as Error).message })
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const token = this.#settings?.token
    if (token === undefined) return true
    const got = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? ''
    const a = Buffer.from(got)
    const b = Buffer.from(token)
    return a.length === b.length && timingSafeEqual(a, b)
  }
}

function parsePurge(body: unknown): PurgeRequest | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'expected a JSON object { key | url | prefix | tag }'
  const record = body as Record<string, unknown>
  const given = PURGE_FIELDS.filter((f) => record[f] !== undefined)
  const unknown = Object.keys(record).filter((k) => !(PURGE_FIELDS as readonly string[]).includes(k))
  if (unknown.length > 0) return `unknown field ${unknown.join(', ')}; expected one of key, url, prefix, tag`
  if (given.length !== 1) return 'expected exactly one of key, url, prefix, tag'
  const field = given[0]!
  const value = record[field]
  if (typeof value !== 'string' || value === '') return `${field}: expected a non-empty string`
  if (field === 'url') {
    try {
      new URL(value)
    } catch {
      return `url: expected an absolute URL, got '${value}'`
    }
  }
  return { [field]: value } as PurgeRequest
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > MAX_BODY) throw new Error('request body too large')
    chunks.push(c)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new Error('body is not valid JSON')
  }
}

function json(res: ServerResponse, status: number, value: unknown, extra: string[] = []): void {
  const body = Buffer.from(`${JSON.stringify(value)}\n`)
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(body.length), 'cache-control', 'no-store', ...extra])
  res.end(body)
}

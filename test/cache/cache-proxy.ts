// Shared helpers for the cache integration tests: a proxy with an injected cache clock, and
// backends that count requests and stamp Date from that clock.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Runtime } from '../../runtime/runtime.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import type { SwitchyardConfig, RouteCacheConfig } from '../../src/config/types.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'
import { collectingLog, startBackend, type CollectingLog, type TestServer } from '../helpers/servers.js'

export interface Clock {
  now: number
  advance(ms: number): void
  fn: () => number
}

export function clock(): Clock {
  const c: Clock = {
    now: Math.floor(Date.now() / 1000) * 1000,
    advance: (ms) => void (c.now += ms),
    fn: () => c.now,
  }
  return c
}

export interface CacheProxy {
  runtime: Runtime
  url: string
  port: number
  log: CollectingLog
  close(): Promise<void>
}

export async function startCacheProxy(config: SwitchyardConfig, now?: () => number): Promise<CacheProxy> {
  const log = collectingLog()
  const runtime = new Runtime({ log, ...(now ? { cacheNow: now } : {}) })
  await runtime.load(resolveConfig({ ...config, listen: { host: '127.0.0.1', port: 0 } }, 'start'))
  const port = runtime.addresses()[0]!.port
  return { runtime, url: `http://127.0.0.1:${port}`, port, log, close: () => runtime.close(1000) }
}

export interface CountingBackend extends TestServer {
  /** Requests received, in order: method, url and headers. */
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers'] }>
}

/** A backend whose handler gets the clock-stamped Date header already set. */
export async function countingBackend(c: Clock, handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<CountingBackend> {
  const seen: CountingBackend['seen'] = []
  const backend = await startBackend((req, res) => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers })
    res.setHeader('date', formatHttpDate(c.now))
    handler(req, res, seen.length)
  })
  return Object.assign(backend, { seen })
}

/**
 * A backend that validates: `max-age=10`, ETag "v1", `x-version` = the request's number; a
 * request with `If-None-Match: "v1"` gets 304, any other 200 "the body".
 */
export function validatingBackend(c: Clock): Promise<CountingBackend> {
  return countingBackend(c, (req, res, n) => {
    res.setHeader('cache-control', 'max-age=10')
    res.setHeader('etag', '"v1"')
    res.setHeader('x-version', String(n))
    if (req.headers['if-none-match'] === '"v1"') {
      res.statusCode = 304
      return res.end()
    }
    res.end('the body')
  })
}

type After = { after: (fn: () => Promise<void> | void) => void }

/** One caching route `/*` → backend, cleaned up after the test. */
export async function cachedRoute(t: After, backend: TestServer, c: Clock, cache: boolean | RouteCacheConfig = true, extra: Partial<SwitchyardConfig> = {}): Promise<CacheProxy> {
  const proxy = await startCacheProxy({ upstreams: { b: { servers: [backend.url] } }, routes: [{ match: { path: '/*' }, to: 'b', cache }], ...extra }, c.fn)
  t.after(() => backend.close())
  t.after(() => proxy.close())
  return proxy
}

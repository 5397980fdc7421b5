/** Pool options (as the config names them today, in ms) resolved once per pool, and what a connection asks of its pool. */
import type { ConnectionOptions } from 'node:tls'
import type { Connection } from './connection.js'
import type { Exchange } from './exchange.js'

export interface UpstreamPoolOptions {
  /** Most open connections (default 128). Requests beyond wait in a FIFO queue. */
  connections?: number
  /** Close a connection idle this long (default 4000). */
  keepAliveTimeout?: number
  /** Longest idle time a server's `Keep-Alive: timeout=` hint may ask for (default 600000). */
  keepAliveMaxTimeout?: number
  /** Close a connection after this many requests (0 = unlimited, the default). */
  maxRequestsPerClient?: number
  /** TCP (and TLS) connect (default 10000; 0 = none). */
  connectTimeout?: number
  /** From the end of the request to the end of the response head (default 300000; 0 = none). */
  headersTimeout?: number
  /** Longest gap between response body bytes while the body is wanted (default 300000; 0 = none). */
  bodyTimeout?: number
  /** Largest response head (default 64 KiB). */
  maxHeaderSize?: number
  /** TCP_NODELAY (default true). */
  noDelay?: boolean
  /** Extra options for https:// origins (e.g. `ca` in tests). */
  tls?: ConnectionOptions
}

export interface PoolSettings {
  readonly host: string
  readonly port: number
  readonly secure: boolean
  /** `Host` sent when the request has none: the origin's host[:port]. */
  readonly hostHeader: string
  readonly connections: number
  readonly keepAliveTimeout: number
  readonly keepAliveMaxTimeout: number
  readonly maxRequestsPerClient: number
  readonly connectTimeout: number
  readonly headersTimeout: number
  readonly bodyTimeout: number
  readonly maxHeaderSize: number
  readonly noDelay: boolean
  readonly tls: ConnectionOptions | undefined
  /** How often the pool checks deadlines: a tenth of the shortest timeout, within 10 ms – 1 s. */
  readonly sweepInterval: number
}

/** What a connection calls on its pool. */
export interface ConnectionOwner {
  readonly settings: PoolSettings
  /** A response completed and the connection may be reused. */
  release(conn: Connection): void
  /** The connection is closed (or closing) and out of every list. */
  removed(conn: Connection): void
  /** Its socket emitted 'close'. */
  socketClosed(): void
  /** Send a request again on a fresh connection (stale keep-alive); false when the pool is closing. */
  retry(ex: Exchange): boolean
}

export function resolvePoolSettings(origin: string, o: UpstreamPoolOptions): PoolSettings {
  const url = new URL(origin)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`upstream pool: unsupported origin ${origin}`)
  const secure = url.protocol === 'https:'
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const settings = {
    host,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    secure,
    hostHeader: url.host,
    connections: positive(o.connections, 128),
    keepAliveTimeout: positive(o.keepAliveTimeout, 4000),
    keepAliveMaxTimeout: positive(o.keepAliveMaxTimeout, 600_000),
    maxRequestsPerClient: o.maxRequestsPerClient ?? 0,
    connectTimeout: o.connectTimeout ?? 10_000,
    headersTimeout: o.headersTimeout ?? 300_000,
    bodyTimeout: o.bodyTimeout ?? 300_000,
    maxHeaderSize: positive(o.maxHeaderSize, 64 * 1024),
    noDelay: o.noDelay ?? true,
    tls: o.tls,
  }
  const shortest = Math.min(...[settings.keepAliveTimeout, settings.connectTimeout, settings.headersTimeout, settings.bodyTimeout].filter((t) => t > 0))
  return { ...settings, sweepInterval: Math.min(1000, Math.max(10, Math.floor(shortest / 10))) }
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback
}

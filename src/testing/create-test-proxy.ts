/**
 * `createTestProxy(config, { upstreams })`: the user's config loaded by the real loader
 * (bundle → evaluate → resolve; an object goes through resolveConfig), named upstream groups
 * pointed at mock servers, and a real Runtime with tracing on. `request()` speaks real
 * HTTP/1.1 to the proxy's node:http server over an in-memory connection (no port is opened
 * unless `listen: true`) and returns the response with the request's decision trace.
 */
import { request as httpRequest, type OutgoingHttpHeaders, type RequestOptions } from 'node:http'
import type { Socket } from 'node:net'
import { resolve as resolvePath } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FrontRequest, FrontResponse } from '../../runtime/context.js'
import { Runtime } from '../../runtime/runtime.js'
import type { ResolvedConfig, ResolvedServer } from '../../runtime/resolved-config.js'
import type { AccessRecord, RuntimeLog } from '../../runtime/log.js'
import type { TraceEvent } from '../../runtime/trace.js'
import { NodeListener } from '../../runtime/adapters/node/node-listener.js'
import { ConfigLoader } from '../server/config-loader.js'
import { resolveConfig } from '../config/resolve-config.js'
import type { ConfigEnv, ConfigMode, SwitchyardConfig } from '../config/types.js'
import { duplexPair, type MemorySocket } from './duplex-pair.js'
import type { MockUpstream } from './mock-upstream.js'
import { Trace } from './trace.js'

/** What replaces a group's servers: mocks or URLs (one or several; weights etc. are kept by position). */
export type UpstreamOverride = MockUpstream | string | ReadonlyArray<MockUpstream | string>

export interface TestProxyOptions {
  /** Upstream group name → the servers to use instead of the config's. */
  upstreams?: Record<string, UpstreamOverride>
  /** The `mode` the config function receives. Default 'start'. */
  mode?: ConfigMode
  /** Also listen on a real 127.0.0.1 port (`proxy.url`); `request()` then goes through TCP. Default false. */
  listen?: boolean
  /** Close the mock upstreams passed in `upstreams` in `close()`. Default true. */
  closeUpstreams?: boolean
  /** Clock for cache decisions (epoch ms), e.g. to test expiry without waiting. */
  cacheNow?: () => number
}

export interface TestRequestInit {
  method?: string
  /** Request headers. Host defaults to the URL's host (`localhost` for a bare path). */
  headers?: ConstructorParameters<typeof Headers>[0]
  body?: string | Uint8Array | null
  /** Sent as the body with `content-type: application/json`. */
  json?: unknown
  /** The client address the proxy sees (in-memory mode only). Default 127.0.0.1. */
  clientIp?: string
}

export interface TestResponse {
  status: number
  statusText: string
  headers: Headers
  body: Buffer
  text(): string
  json<T = unknown>(): T
  /** The proxy's decisions for this request. */
  trace: Trace
}

export type LogLine = { level: 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }

export interface TestProxy {
  request(pathOrUrl: string, init?: TestRequestInit): Promise<TestResponse>
  /** `http://127.0.0.1:<port>` with `listen: true`, else undefined (no port is open). */
  readonly url: string | undefined
  readonly runtime: Runtime
  /** The resolved config being served (after the upstream overrides). */
  readonly config: ResolvedConfig
  /** What the proxy logged (its access log too, if the config turns it on). */
  readonly logs: LogLine[]
  readonly accessLog: AccessRecord[]
  /** Stops the runtime (pools, caches, health checks), the listener if any, and the mocks it was given. */
  close(): Promise<void>
}

type ConfigInput = string | URL | SwitchyardConfig | ((env: ConfigEnv) => SwitchyardConfig | Promise<SwitchyardConfig>)

interface Pending {
  trace?: TraceEvent[]
  /** Resolves when the proxy side of the exchange is over (the trace is complete). */
  done?: Promise<void>
}

export async function createTestProxy(input: ConfigInput, options: TestProxyOptions = {}): Promise<TestProxy> {
  const mode = options.mode ?? 'start'
  const overrides = Object.entries(options.upstreams ?? {})
  const mocks = overrides.flatMap(([, o]) => (Array.isArray(o) ? o : [o])).filter((o): o is MockUpstream => typeof o !== 'string')
  await Promise.all(mocks.map((m) => m.ready))
  const closeMocks = () => (options.closeUpstreams === false ? Promise.resolve() : Promise.all(mocks.map((m) => m.close())).then(() => {}))
  let config: ResolvedConfig
  try {
    config = await loadConfig(input, mode)
    for (const [name, override] of overrides) replaceServers(config, name, override)
  } catch (err) {
    await closeMocks()
    throw err
  }
  config.listen = options.listen ? [{ host: '127.0.0.1', port: 0 }] : []
  delete config.admin // an admin API is another port; the kit never opens one

  const logs: LogLine[] = []
  const accessLog: AccessRecord[] = []
  const log: RuntimeLog = {
    info: (message, fields) => void logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message, fields) => void logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message, fields) => void logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
    access: (record) => void accessLog.push(record),
  }
  // Requests in flight, by the client port the proxy sees (unique per in-memory connection;
  // the real client port with listen: true).
  const pending = new Map<number, Pending>()
  const runtime = new Runtime({
    log, trace: true, ...(options.cacheNow ? { cacheNow: options.cacheNow } : {}),
    onTrace: (req: FrontRequest, res: FrontResponse, trace: TraceEvent[]) => {
      const p = pending.get(req.socket.remotePort ?? -1)
      if (p === undefined) return // a request from outside the kit (listen: true)
      p.trace = trace
      p.done = new Promise((resolve) => res.once('close', resolve))
    },
  })
  await runtime.load(config)
  // How the trace's toString() names servers: a mock's own name, else `<group>` / `<group>[i]`.
  const names = new Map<string, string>()
  for (const [group, override] of overrides) {
    const list = Array.isArray(override) ? override : [override as MockUpstream | string]
    list.forEach((entry, i) => {
      if (typeof entry === 'string') return
      names.set(new URL(entry.url).origin, entry.named ? entry.name : list.length === 1 ? group : `${group}[${i}]`)
    })
  }
  const address = options.listen ? runtime.addresses()[0] : undefined
  // In-memory mode: the same node:http server (and request checks) as a real listener, never listening.
  const memory = address ? undefined : new NodeListener({ host: '127.0.0.1', port: 0 }, config.server, runtime.handle)
  const open = new Set<MemorySocket>()
  let nextPort = 40_000
  let closed = false

  const request = async (pathOrUrl: string, init: TestRequestInit = {}): Promise<TestResponse> => {
    if (closed) throw new Error('createTestProxy: request() after close()')
    const url = new URL(pathOrUrl, 'http://localhost')
    const headers = new Headers(init.headers)
    // The authority as written (URL would lowercase it and drop a default port).
    if (!headers.has('host')) headers.set('host', /^[a-z][a-z\d+.-]*:\/\/([^/?#]*)/i.exec(pathOrUrl)?.[1] ?? url.host)
    let body: Uint8Array | string | null | undefined = init.body
    if (init.json !== undefined) {
      body = JSON.stringify(init.json)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    }
    const method = init.method ?? (body != null ? 'POST' : 'GET')
    const flat: OutgoingHttpHeaders = {}
    for (const [name, value] of headers) flat[name] = name === 'set-cookie' ? headers.getSetCookie() : value
    if (body != null) flat['content-length'] = String(Buffer.byteLength(body))
    const record: Pending = {}
    const target = pathOrUrl.startsWith('/') ? pathOrUrl : url.pathname + url.search
    const reqOptions: RequestOptions = { method, path: target, headers: flat }
    if (memory) {
      const port = nextPort++
      if (nextPort > 65_000) nextPort = 40_000
      pending.set(port, record)
      const [client, server] = duplexPair(init.clientIp ?? '127.0.0.1', port)
      open.add(client)
      client.once('close', () => open.delete(client))
      memory.server.emit('connection', server)
      reqOptions.createConnection = () => client as unknown as Socket
      reqOptions.host = '127.0.0.1'
      return exchange(reqOptions, body, record, names, () => pending.delete(port))
    }
    reqOptions.host = address!.address
    reqOptions.port = address!.port
    reqOptions.agent = false
    let port = -1
    return exchange(reqOptions, body, record, names, () => pending.delete(port), (socket) => {
      socket.once('connect', () => {
        port = socket.localPort!
        pending.set(port, record)
      })
    })
  }

  return {
    request,
    url: address ? `http://127.0.0.1:${address.port}` : undefined,
    runtime,
    config,
    logs,
    accessLog,
    close: async () => {
      if (closed) return
      closed = true
      for (const socket of open) socket.destroy()
      if (memory) memory.server.closeAllConnections()
      await runtime.close(1000)
      await closeMocks()
    },
  }
}

async function loadConfig(input: ConfigInput, mode: ConfigMode): Promise<ResolvedConfig> {
  if (typeof input === 'string' || input instanceof URL) {
    const file = input instanceof URL ? fileURLToPath(input) : input.startsWith('file:') ? fileURLToPath(input) : resolvePath(input)
    const loader = new ConfigLoader(file, mode)
    try {
      return (await loader.load()).config
    } finally {
      await loader.dispose()
    }
  }
  const value = typeof input === 'function' ? await input({ mode }) : input
  return resolveConfig(value, mode, 'createTestProxy config')
}

function replaceServers(config: ResolvedConfig, name: string, override: UpstreamOverride): void {
  const group = config.upstreams.get(name)
  if (!group) {
    throw new Error(`createTestProxy: the config has no upstream '${name}' (it has: ${[...config.upstreams.keys()].join(', ') || 'none'})`)
  }
  const list = Array.isArray(override) ? override : [override as MockUpstream | string]
  if (list.length === 0) throw new Error(`createTestProxy: upstreams.${name} is empty`)
  const servers: ResolvedServer[] = list.map((entry, i) => {
    const origin = new URL(typeof entry === 'string' ? entry : entry.url).origin
    // Same count: keep each server's settings (weight, backup, maxConns …); else plain servers.
    const kept = list.length === group.servers.length ? group.servers[i]! : { weight: 1 }
    return { ...kept, origin }
  })
  group.servers = servers
}

/** One request and its whole response; resolves once the proxy's side is over too (the trace is complete). */
function exchange(
  options: RequestOptions, body: Uint8Array | string | null | undefined, record: Pending, names: ReadonlyMap<string, string>,
  cleanup: () => void, onSocket?: (socket: Socket) => void,
): Promise<TestResponse> {
  return new Promise<TestResponse>((resolve, reject) => {
    const req = httpRequest(options, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', fail)
      res.on('end', () => {
        void (record.done ?? Promise.resolve()).then(() => {
          cleanup()
          const buffer = Buffer.concat(chunks)
          const headers = new Headers()
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
          const events = record.trace ?? []
          const cacheStatus = headers.get('cache-status')
          const cache = events.find((e) => e.type === 'cache')
          if (cache && cacheStatus !== null) cache.status = cacheStatus
          resolve({
            status: res.statusCode!, statusText: res.statusMessage ?? '', headers, body: buffer,
            text: () => buffer.toString(),
            json: <T>() => JSON.parse(buffer.toString()) as T,
            trace: new Trace(events, names),
          })
        })
      })
    })
    function fail(err: Error): void {
      cleanup()
      reject(err)
    }
    req.on('error', fail)
    if (onSocket) req.once('socket', onSocket)
    req.end(body ?? undefined)
  })
}

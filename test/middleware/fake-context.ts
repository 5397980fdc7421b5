/** A HookContext for unit tests of middleware (no proxy): headers, url, state, recorded calls. */
import type { HookContext, RequestTimings } from '../../src/config/hooks.js'

export interface FakeInit {
  method?: string
  url?: string
  headers?: Record<string, string>
  clientIp?: string
  /** Default: clientIp. */
  peerIp?: string
  params?: Record<string, string>
  body?: ReadableStream<Uint8Array> | string
}

export interface FakeContext extends HookContext {
  rewrites: string[]
  deadlines: number[]
  forwards: Array<{ group: string; init: Parameters<HookContext['forward']>[1] }>
  forwardImpl: HookContext['forward'] | undefined
  bodyLimits: number[]
  /** What hooks logged through ctx.log. */
  logged: Array<{ level: 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown> }>
  annotations: Record<string, unknown>
}

export function fakeContext(init: FakeInit = {}): FakeContext {
  let url = new URL(init.url ?? 'http://example.test/')
  const headers = new Headers(init.headers)
  if (!headers.has('host')) headers.set('host', url.host)
  const method = init.method ?? 'GET'
  let request: Request | undefined
  const ctx: FakeContext = {
    route: 'test',
    params: init.params ?? {},
    clientIp: init.clientIp ?? '127.0.0.1',
    peerIp: init.peerIp ?? init.clientIp ?? '127.0.0.1',
    method,
    get url() {
      return url
    },
    headers,
    get request() {
      return (request ??= new Request(url, {
        method, headers, body: init.body ?? null, ...(init.body ? { duplex: 'half' } : {}),
      } as RequestInit))
    },
    state: {},
    timings: { start: 0 } as RequestTimings,
    upstream: undefined,
    rewrites: [],
    deadlines: [],
    forwards: [],
    forwardImpl: undefined,
    rewrite(pathAndQuery: string) {
      ctx.rewrites.push(pathAndQuery)
      url = new URL(pathAndQuery.includes('?') ? pathAndQuery : pathAndQuery + url.search, url)
    },
    forward(group, fwd) {
      ctx.forwards.push({ group, init: fwd })
      return ctx.forwardImpl ? ctx.forwardImpl(group, fwd) : Promise.resolve(new Response('shadow'))
    },
    setDeadline(ms: number) {
      ctx.deadlines.push(ms)
    },
    bodyLimits: [],
    setBodyLimit(bytes: number) {
      ctx.bodyLimits.push(bytes)
    },
    logged: [],
    log: {
      info: (message, fields) => void ctx.logged.push({ level: 'info', message, fields }),
      warn: (message, fields) => void ctx.logged.push({ level: 'warn', message, fields }),
      error: (message, fields) => void ctx.logged.push({ level: 'error', message, fields }),
    },
    annotations: {},
    annotate(fields) {
      Object.assign(ctx.annotations, fields)
    },
  }
  return ctx
}

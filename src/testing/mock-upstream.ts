/**
 * A real HTTP server on 127.0.0.1 (port from the OS) answering with a Web-style handler:
 * upstreams are reached through the proxy's keep-alive pools, so a mock needs a socket. Records every request
 * it received for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type MockHandler = (req: Request) => Response | Promise<Response>

/** One request as the mock received it (body buffered). */
export interface ReceivedRequest {
  method: string
  /** Path and query as sent by the proxy. */
  path: string
  headers: Headers
  body: Buffer
  text(): string
  json(): unknown
}

export interface MockUpstreamOptions {
  /** Shown in the default echo answer and in error messages. Default `mock`. */
  name?: string
  /** Keep received requests (bodies included) in `requests`. Default true; false for long load tests. */
  record?: boolean
}

export interface MockUpstream {
  /** `options.name`, else 'mock'. */
  readonly name: string
  /** Whether a name was given (else the test kit names it after its upstream group in traces). */
  readonly named: boolean
  /** `http://127.0.0.1:<port>`; available once `ready` resolved (createTestProxy awaits it). */
  readonly url: string
  readonly ready: Promise<string>
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[]
  /** The last request received. */
  readonly lastRequest: ReceivedRequest | undefined
  /** Closes the server and its connections (idempotent). */
  close(): Promise<void>
}

/**
 * The default handler: 200 with JSON `{ upstream, method, path, headers, body }` describing the
 * request, and an `x-upstream` header naming the mock.
 */
export function echoHandler(name: string): MockHandler {
  return async (req) => {
    const url = new URL(req.url)
    const body = await req.text()
    return Response.json(
      { upstream: name, method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers), body },
      { headers: { 'x-upstream': name } },
    )
  }
}

/** Starts listening at once; `await mock.ready` (or pass it to createTestProxy, which does). */
export function mockUpstream(handler?: MockHandler, options: MockUpstreamOptions = {}): MockUpstream {
  const name = options.name ?? 'mock'
  const answer = handler ?? echoHandler(name)
  const requests: ReceivedRequest[] = []
  const sockets = new Set<Socket>()
  let url = ''
  const server: Server = createServer((req, res) => void serve(req, res))
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer)
    } catch {
      return void res.destroy()
    }
    const body = Buffer.concat(chunks)
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    const path = req.url ?? '/'
    if (options.record !== false) requests.push({
      method: req.method ?? 'GET', path, headers, body,
      text: () => body.toString(),
      json: () => JSON.parse(body.toString()) as unknown,
    })
    const method = req.method ?? 'GET'
    const request = new Request(`http://${req.headers.host ?? '127.0.0.1'}${path}`, {
      method, headers, ...(method === 'GET' || method === 'HEAD' ? {} : { body, duplex: 'half' }),
    } as RequestInit)
    let response: Response
    try {
      response = await answer(request)
    } catch (err) {
      response = new Response(`mock upstream '${name}' handler threw: ${(err as Error)?.message ?? String(err)}\n`, { status: 500 })
    }
    const head: string[] = []
    for (const [n, v] of response.headers) if (n !== 'set-cookie') head.push(n, v)
    for (const cookie of response.headers.getSetCookie()) head.push('set-cookie', cookie)
    res.writeHead(response.status, response.statusText || undefined, head)
    if (response.body === null || method === 'HEAD') {
      await response.body?.cancel()
      return void res.end()
    }
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve))
      }
      res.end()
    } catch {
      res.destroy()
    }
  }

  const ready = new Promise<string>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resolve(url)
    })
  })
  let closed: Promise<void> | undefined
  return {
    name,
    named: options.name !== undefined,
    get url() {
      if (url === '') throw new Error(`mock upstream '${name}' is not listening yet: await mock.ready`)
      return url
    },
    ready,
    requests,
    get lastRequest() {
      return requests.at(-1)
    },
    close: () => (closed ??= ready.catch(() => '').then(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }))),
  }
}

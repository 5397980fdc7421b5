/**
 * The `Response` an onResponse hook gets for an answer the proxy produced itself (a forwarded
 * response, a cached one): a real Response (status, mutable headers, every body method), whose
 * body is only turned into a Web ReadableStream when something asks for it. On Node 20 one
 * ReadableStream costs ~15–25 µs of CPU and garbage (its constructor makes it transferable),
 * more than the rest of a small proxied request — and most onResponse hooks only look at or
 * set headers. Its `headers` are filled from the head's flat lines on first use as well: a
 * response whose headers nobody looked at goes out with those lines as they are.
 *
 * After the hooks, `reclaim` tells whether the response they settled on still carries this
 * body untouched (never asked for; or asked for but unread, unlocked — `new Response(res.body,
 * res)` with other headers or status); the proxy then sends that body to the client itself
 * (BodySource.sendTo, no Web stream involved) and any later use of the body finds it in use.
 */
import { Readable } from 'node:stream'
import { validateHeaderValue } from 'node:http'
import type { RequestContext } from '../context.js'
import { asksToClose, isHopByHop } from '../forward/hop-by-hop.js'
import { failedWebResponse } from '../handle/send-web-response.js'
import { sendError } from '../respond.js'

/** Whether a Web stream was read from or cancelled (Node's check works on Web streams too; its types say Readable). */
function isDisturbed(stream: ReadableStream<Uint8Array>): boolean {
  return Readable.isDisturbed(stream as unknown as NodeJS.ReadableStream)
}

/** Where a ProxyResponse's body comes from. */
export interface BodySource {
  /** The body as a Web stream (null: none). Called at most once, on first use of the body. */
  open(): ReadableStream<Uint8Array> | null
  /**
   * Send the body to `ctx.res`, with backpressure; end it or abort it as the source does. The head
   * is written by `writeHead`, called before the first body byte or the end (false: it could not
   * be, the response was answered otherwise — drop the body); a source that fails before that
   * answers with the error status instead.
   */
  sendTo(ctx: RequestContext, writeHead: () => boolean): void
  /** Nobody reads the body: drop it (the exchange behind it may run on to its end). */
  cancel(): void
}

/**
 * The class is made on first use: `extends Response` reads the global `Response`, and the first
 * read loads Node's bundled undici (~20 ms of CPU on this VM). A config of plain forward routes
 * never builds one, so `switchyard start` does not pay for it before its first response.
 */
function defineProxyResponse() {
  /** Response's own `headers` getter (the object this Response was built with). */
  const ownHeaders = Object.getOwnPropertyDescriptor(Response.prototype, 'headers')!.get! as (this: Response) => Headers

  return class ProxyResponse extends Response {
    readonly #source: BodySource
    /** The head's fields, flat [name, value, …], until `headers` is first used (then they are in it). */
    #lines: readonly string[] | undefined
    /** The body's stream, once asked for (null: no body); a branch of `#opened` after clone(). */
    #stream: ReadableStream<Uint8Array> | null | undefined
    /** What the source opened (a clone's tee reads it: then it is not the proxy's to send any more). */
    #opened: ReadableStream<Uint8Array> | null | undefined
    /** The proxy took the body back to send it itself (or dropped it). */
    #taken = false

    /** `lines`: the fields, flat [name, value, …] as writeHead takes them (hop-by-hop fields already dropped). */
    constructor(status: number, lines: readonly string[], source: BodySource) {
      super(null, { status })
      this.#lines = lines
      this.#source = source
    }

    #headers(): Headers {
      const h = ownHeaders.call(this)
      const lines = this.#lines
      if (lines !== undefined) {
        this.#lines = undefined
        for (let i = 0; i < lines.length; i += 2) h.append(lines[i]!, lines[i + 1]!)
      }
      return h
    }

    /** The head's fields as given, if `headers` was never used (so nothing changed them). */
    untouchedLines(): readonly string[] | undefined {
      return this.#lines
    }

    #body(): ReadableStream<Uint8Array> | null {
      if (this.#stream !== undefined) return this.#stream
      if (this.#taken) {
        // Already sent on by the proxy: a body in use, as a piped one would be.
        const done = new ReadableStream<Uint8Array>({ start: (c) => c.close() })
        void done.getReader().read()
        return (this.#stream = done)
      }
      return (this.#stream = this.#opened = this.#source.open())
    }

    /** A plain Response over the body, for the body-reading methods. */
    #plain(): Response {
      return new Response(this.#body(), { status: this.status, statusText: this.statusText, headers: this.#headers() })
    }

    /**
     * The body's source, for the proxy to send it itself, if `final` (what the hooks settled on)
     * still carries this body unread; the Response's body then counts as in use.
     */
    reclaim(final: Response): BodySource | undefined {
      if (this.#taken) return undefined
      const stream = this.#stream
      if (stream === undefined) {
        if (final !== this) return undefined // another body (this one was never asked for)
        this.#taken = true
        return this.#source
      }
      if (final.body !== stream || stream !== this.#opened) return undefined
      if (stream !== null) {
        if (stream.locked || isDisturbed(stream)) return undefined
        stream.getReader() // locked from now on: nobody else reads it
      }
      this.#taken = true
      return this.#source
    }

    /**
     * The body is not going to the client through this Response: drop it — unless `keep` (a
     * response about to be sent) carries it on, or a reader has it (a hook's tee or transform).
     */
    release(keep?: Response): void {
      if (this.#taken) return
      const stream = this.#stream
      if (stream === undefined) {
        if (keep === this) return
        this.#taken = true
        return this.#source.cancel()
      }
      if (stream !== null && (keep === undefined || keep.body !== stream) && !stream.locked) void stream.cancel().catch(() => {})
    }

    // undici's types declare `headers`, `body`, `bodyUsed` and the body methods as properties, so
    // TypeScript refuses accessors/methods overriding them in a subclass: they are installed here.
    // (Response's own methods read its internal state, not these: every one that does is overridden.)
    static {
      const method = (fn: (this: ProxyResponse) => unknown): PropertyDescriptor => ({ value: fn, writable: true, enumerable: true, configurable: true })
      Object.defineProperties(ProxyResponse.prototype, {
        headers: {
          get(this: ProxyResponse) {
            return this.#headers()
          },
          enumerable: true,
          configurable: true,
        },
        body: {
          get(this: ProxyResponse) {
            return this.#body()
          },
          enumerable: true,
          configurable: true,
        },
        bodyUsed: {
          get(this: ProxyResponse) {
            const s = this.#stream
            return s === undefined ? this.#taken : s !== null && isDisturbed(s)
          },
          enumerable: true,
          configurable: true,
        },
        clone: method(function (this: ProxyResponse): Response {
          const body = this.#body()
          if (body !== null && (body.locked || isDisturbed(body))) throw new TypeError('Response.clone: Body has already been consumed.')
          const init = { status: this.status, statusText: this.statusText, headers: this.#headers() }
          if (body === null) return new Response(null, init)
          const [mine, theirs] = body.tee()
          this.#stream = mine
          return new Response(theirs, init)
        }),
        arrayBuffer: method(async function (this: ProxyResponse) {
          return this.#plain().arrayBuffer()
        }),
        blob: method(async function (this: ProxyResponse) {
          return this.#plain().blob()
        }),
        bytes: method(async function (this: ProxyResponse) {
          return (this.#plain() as Response & { bytes(): Promise<Uint8Array> }).bytes()
        }),
        formData: method(async function (this: ProxyResponse) {
          return this.#plain().formData()
        }),
        json: method(async function (this: ProxyResponse) {
          return this.#plain().json()
        }),
        text: method(async function (this: ProxyResponse) {
          return this.#plain().text()
        }),
      })
    }
  }
}

export type ProxyResponse = InstanceType<ReturnType<typeof defineProxyResponse>>
let ProxyResponseClass: ReturnType<typeof defineProxyResponse> | undefined

/** `lines`: the fields, flat [name, value, …] as writeHead takes them (hop-by-hop fields already dropped). */
export function newProxyResponse(status: number, lines: readonly string[], source: BodySource): ProxyResponse {
  return new (ProxyResponseClass ??= defineProxyResponse())(status, lines, source)
}

export function isProxyResponse(response: Response): response is ProxyResponse {
  return ProxyResponseClass !== undefined && response instanceof ProxyResponseClass
}

/**
 * A Response's fields as the flat list writeHead takes (hop-by-hop fields dropped, Set-Cookie kept
 * apart), each value validated; `remove`: lowercase names left out too (a route's header rules).
 */
export function flatWebHeaders(headers: Headers, remove?: readonly string[]): string[] {
  const out: string[] = []
  // Fetch refuses only NUL, CR and LF in a value; node:http (and so both fronts) other controls too.
  for (const [name, value] of headers) {
    if (name === 'set-cookie' || isHopByHop(name) || remove?.includes(name)) continue
    validateHeaderValue(name, value)
    out.push(name, value)
  }
  if (remove?.includes('set-cookie')) return out
  for (const cookie of headers.getSetCookie()) {
    validateHeaderValue('set-cookie', cookie)
    out.push('set-cookie', cookie)
  }
  return out
}

/** Writes `response`'s status and fields, then has `source` send the body it carries. */
export function sendDirect(ctx: RequestContext, response: Response, source: BodySource): void {
  const lines = isProxyResponse(response) ? response.untouchedLines() : undefined
  ctx.status = response.status
  // As sendWebResponse: Connection is not copied, but a hook's `Connection: close` ends the connection after this response.
  if (lines === undefined && response.status >= 200 && asksToClose(response.headers.get('connection'))) ctx.res.shouldKeepAlive = false
  let headers: string[]
  try {
    // (A hook may have set a value Fetch takes and Node refuses: a control character.)
    headers = (lines ?? flatWebHeaders(response.headers)) as string[]
  } catch (err) {
    source.cancel()
    return failedWebResponse(ctx, err, 'response failed', 500)
  }
  // The head goes out with the first body byte or the end (neither front sends it before), so
  // an upstream that fails first still gets the client a 502/504, not a cut.
  source.sendTo(ctx, () => {
    try {
      ctx.res.writeHead(response.status, headers)
      return true
    } catch (err) {
      if (lines === undefined) {
        failedWebResponse(ctx, err, 'response failed', 500) // (nothing went out: a clean 500)
        return false
      }
      // A field Node refuses to send, as the upstream gave it: its fault (as ClientSink answers it).
      ctx.status = 0
      sendError(ctx, 502, `invalid upstream response header: ${(err as Error).message}`)
      return false
    }
  })
}

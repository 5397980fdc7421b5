/**
 * llhttp — the HTTP/1 parser inside Node's http module and undici — driven from JS, from the
 * wasm build that undici ships: RESPONSE mode for the upstream client, REQUEST mode for the
 * listener's fast front (runtime/adapters/node/fast-front.ts). Strict: no lenient flag is ever set, so obs-fold,
 * bare LF, CL+TE, duplicate Content-Length, invalid chunk sizes and invalid header bytes are all
 * parse errors.
 *
 * One wasm instance serves every connection (llhttp keeps each parser's state in its own
 * `llhttp_t`); `execute` copies a chunk into one shared input area and runs synchronously,
 * calling back into the parser's host. Header names and values are built as latin1 strings in
 * those callbacks, so nothing downstream converts Buffers again.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

/**
 * Deep paths into the undici package. They are NOT a public undici API: undici 7 has no
 * "exports" map, so they resolve, but any release may move them. This is the only file that
 * names them, and test/upstream-client/llhttp-source.test.ts loads each one, so a move fails the
 * test suite loudly instead of the first proxied request.
 */
export const LLHTTP_SOURCES = {
  simd: 'undici/lib/llhttp/llhttp_simd-wasm.js',
  plain: 'undici/lib/llhttp/llhttp-wasm.js',
  constants: 'undici/lib/llhttp/constants.js',
} as const

interface LlhttpConstants {
  ERROR: Record<string, number>
  TYPE: Record<string, number>
  METHODS: Record<string, number>
}

const constants = require(LLHTTP_SOURCES.constants) as LlhttpConstants
const TYPE_RESPONSE = constants.TYPE.RESPONSE!
const TYPE_REQUEST = constants.TYPE.REQUEST!
/** llhttp's method numbers → names (e.g. 1 → 'GET'). */
const METHOD_NAMES: string[] = []
for (const [name, code] of Object.entries(constants.METHODS)) METHOD_NAMES[code] = name

/** llhttp_execute's results we act on (the rest are errors). */
export const PARSE_OK = constants.ERROR.OK!
export const PARSE_PAUSED = constants.ERROR.PAUSED!

/** What a parser reports to: the connection. Return 0 to go on, PARSE_PAUSED to stop, -1 for an error. */
export interface ParserHost {
  /** The head is complete (`parser.headers` holds it). 1 = the message has no body. */
  onHeadersComplete(statusCode: number, upgrade: boolean, keepAlive: boolean): number
  onBody(chunk: Buffer): number
  onMessageComplete(): number
}

/** The little of the WebAssembly API used here (the project's `lib` has no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: Record<string, Record<string, (...args: number[]) => number>>) => { exports: unknown }
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

interface LlhttpExports {
  memory: { buffer: ArrayBuffer }
  _initialize?: () => void
  malloc(size: number): number
  free(ptr: number): void
  llhttp_alloc(type: number): number
  llhttp_free(ptr: number): void
  llhttp_execute(ptr: number, data: number, len: number): number
  llhttp_finish(ptr: number): number
  llhttp_resume(ptr: number): void
  llhttp_get_error_pos(ptr: number): number
  llhttp_get_error_reason(ptr: number): number
  llhttp_get_http_major(ptr: number): number
  llhttp_get_http_minor(ptr: number): number
  llhttp_get_method(ptr: number): number
}

let wasm: LlhttpExports | undefined
/** The parser inside llhttp_execute, the chunk it parses and where that chunk sits in wasm memory. */
let current: MessageParser | null = null
let currentChunk: Buffer = Buffer.alloc(0)
let currentOffset = 0
let inputPtr = 0
let inputSize = 0
let heap = new Uint8Array(0)

function instance(): LlhttpExports {
  if (wasm !== undefined) return wasm
  let mod: object
  // (V8 optimises this module on its first call, ~35 MiB that MALLOC_TRIM_THRESHOLD_ then keeps:
  // src/supervisor/heap-flags.ts. `--liftoff-only` here avoided it but cost ~3 µs per request.)
  try {
    mod = new Module(require(LLHTTP_SOURCES.simd) as Buffer)
  } catch {
    mod = new Module(require(LLHTTP_SOURCES.plain) as Buffer) // no wasm SIMD here
  }
  const exports = new Instance(mod, {
    env: {
      wasm_on_url: (_p: number, at: number, len: number) => current!.url(at - currentOffset, len),
      wasm_on_status: (_p: number, _at: number, len: number) => current!.count(len),
      wasm_on_message_begin: () => current!.begin(),
      wasm_on_header_field: (_p: number, at: number, len: number) => current!.field(at - currentOffset, len),
      wasm_on_header_value: (_p: number, at: number, len: number) => current!.value(at - currentOffset, len),
      wasm_on_headers_complete: (_p: number, status: number, upgrade: number, keepAlive: number) => current!.headersComplete(status, upgrade === 1, keepAlive === 1),
      wasm_on_body: (_p: number, at: number, len: number) => {
        const start = at - currentOffset
        return current!.host.onBody(currentChunk.subarray(start, start + len))
      },
      wasm_on_message_complete: () => current!.host.onMessageComplete(),
    },
  }).exports as unknown as LlhttpExports
  exports._initialize?.()
  wasm = exports
  return exports
}

/** The reason llhttp gives for its last error on `ptr` ('' if none). */
function errorReason(x: LlhttpExports, ptr: number): string {
  const at = x.llhttp_get_error_reason(ptr)
  if (at === 0) return ''
  const bytes = new Uint8Array(x.memory.buffer, at)
  return Buffer.from(bytes.subarray(0, bytes.indexOf(0))).toString('latin1')
}

/** Where every response parser puts trailer fields, read by nobody (one array: no allocation per response). */
const discardedTrailers: string[] = []

/** One parser, owned by one connection for its whole life. */
abstract class MessageParser {
  /** The head being parsed: [name, value, …] as latin1 strings. A new array per message. */
  headers: string[] = []
  /** After PARSE_PAUSED: bytes of the chunk that were parsed (the rest is the caller's). */
  consumed = 0
  /** Set by the parser itself when it fails a message (head too large). */
  failure = ''
  protected readonly ptr: number
  /**
   * Whether the head is a fresh array after each headers-complete (responses: their trailers must
   * not reach the held head). Requests keep theirs: the fast front reads it once the message is
   * parsed, and hands any chunked request (the only kind with trailers) to node:http at its head.
   */
  protected abstract readonly trailersApart: boolean
  #field = ''
  #value = ''
  #inValue = false
  #headBytes = 0
  #fields = 0
  #paused = false

  /**
   * `fieldOverhead`: bytes counted per field on top of its name and value (the colon, spaces and
   * CRLF llhttp does not report); `maxFields`: fields allowed in one head.
   */
  constructor(readonly host: ParserHost, readonly maxHeadBytes: number, type: number, readonly fieldOverhead = 0, readonly maxFields = Infinity) {
    this.ptr = instance().llhttp_alloc(type)
  }

  /** Parses `chunk`: PARSE_OK (all used), PARSE_PAUSED (`consumed` bytes used) or an error code. */
  execute(chunk: Buffer): number {
    const x = wasm!
    if (current !== null) throw new Error('llhttp: re-entrant execute') // one shared input area
    const length = chunk.length
    if (length > inputSize) {
      if (inputPtr !== 0) x.free(inputPtr)
      inputSize = Math.ceil(length / 4096) * 4096
      inputPtr = x.malloc(inputSize)
    }
    if (heap.buffer !== x.memory.buffer) heap = new Uint8Array(x.memory.buffer) // memory grew
    heap.set(chunk, inputPtr)
    current = this
    currentChunk = chunk
    currentOffset = inputPtr
    let ret: number
    try {
      ret = x.llhttp_execute(this.ptr, inputPtr, length)
    } finally {
      current = null
      currentChunk = EMPTY
    }
    this.consumed = ret === PARSE_OK ? length : x.llhttp_get_error_pos(this.ptr) - inputPtr
    this.#paused = ret === PARSE_PAUSED
    return ret
  }

  /** The connection ended: PARSE_OK when that ends the message cleanly (a close-delimited body), else an error code. */
  finish(): number {
    if (current !== null) throw new Error('llhttp: re-entrant finish')
    this.resume()
    current = this
    try {
      return wasm!.llhttp_finish(this.ptr)
    } finally {
      current = null
    }
  }

  /** Continues after a PARSE_PAUSED (a no-op when not paused). */
  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    wasm!.llhttp_resume(this.ptr)
  }

  /** The HTTP version of the message being parsed, as "1.1". */
  get version(): string {
    return `${this.versionMajor}.${this.versionMinor}`
  }

  get versionMajor(): number {
    return wasm!.llhttp_get_http_major(this.ptr)
  }

  get versionMinor(): number {
    return wasm!.llhttp_get_http_minor(this.ptr)
  }

  /** Why the last execute/finish failed, in llhttp's words (or the parser's own). */
  reason(): string {
    return this.failure || errorReason(wasm!, this.ptr) || 'parse error'
  }

  destroy(): void {
    wasm!.llhttp_free(this.ptr)
  }

  // ---- wasm callbacks (only while this parser is `current`) ----

  /** The request target (REQUEST mode only). */
  abstract url(start: number, len: number): number

  begin(): number {
    this.headers = []
    this.#field = ''
    this.#value = ''
    this.#inValue = false
    this.#headBytes = 0
    this.#fields = 0
    return 0
  }

  count(len: number): number {
    this.#headBytes += len
    if (this.#headBytes <= this.maxHeadBytes) return 0
    this.failure = 'head too large'
    return -1
  }

  field(start: number, len: number): number {
    if (this.#inValue) this.#push()
    if (this.#field === '') {
      // A new field (a name can arrive in pieces, across reads).
      if (++this.#fields > this.maxFields) {
        this.failure = `more than ${this.maxFields} header fields`
        return -1
      }
      this.#headBytes += this.fieldOverhead
    }
    this.#field += currentChunk.toString('latin1', start, start + len)
    return this.count(len)
  }

  value(start: number, len: number): number {
    this.#value += currentChunk.toString('latin1', start, start + len)
    this.#inValue = true
    return this.count(len)
  }

  headersComplete(status: number, upgrade: boolean, keepAlive: boolean): number {
    if (this.#field !== '') this.#push()
    const ret = this.host.onHeadersComplete(status, upgrade, keepAlive)
    if (this.trailersApart) {
      // Fields after the head are a chunked body's trailers: never added to the head the host
      // took and may still hold (RFC 9110 §6.5.1: not merged into the header section). They are
      // collected apart, under the same limits, and dropped (as nginx does).
      discardedTrailers.length = 0
      this.headers = discardedTrailers
      this.#headBytes = 0
      this.#fields = 0
    }
    return ret
  }

  #push(): void {
    // llhttp drops leading whitespace of a value but keeps trailing (RFC 9110 §5.5: not part of it).
    let value = this.#value
    let end = value.length
    while (end > 0 && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--
    if (end !== value.length) value = value.slice(0, end)
    this.headers.push(this.#field, value)
    this.#field = ''
    this.#value = ''
    this.#inValue = false
  }
}

/**
 * Fields in one response head. HAProxy (tune.http.maxhdr 101) and Envoy (max_headers_count 100)
 * refuse more; requests have the same bound (MAX_HEADER_COUNT in node-listener.ts).
 */
export const MAX_RESPONSE_FIELDS = 100

/**
 * Parses the responses of one upstream connection. Its head limit counts each field's colon,
 * space and CRLF too (4 bytes), so a head of many tiny fields is held to about its wire size.
 */
export class ResponseParser extends MessageParser {
  protected readonly trailersApart = true

  constructor(host: ParserHost, maxHeadBytes: number) {
    super(host, maxHeadBytes, TYPE_RESPONSE, 4, MAX_RESPONSE_FIELDS)
  }

  url(): number {
    return 0
  }
}

/** Parses the requests of one client connection; the head's target is in `target`. */
export class RequestParser extends MessageParser {
  protected readonly trailersApart = false
  target = ''

  /** `maxHeadBytes`: the counted size of a head must stay below it (node:http refuses at equal). */
  constructor(host: ParserHost, maxHeadBytes: number) {
    super(host, maxHeadBytes - 1, TYPE_REQUEST)
  }

  override begin(): number {
    this.target = ''
    return super.begin()
  }

  url(start: number, len: number): number {
    this.target += currentChunk.toString('latin1', start, start + len)
    return this.count(len)
  }

  /** The method of the request being parsed ('GET', …). */
  get method(): string {
    return METHOD_NAMES[wasm!.llhttp_get_method(this.ptr)] ?? ''
  }
}

const EMPTY = Buffer.alloc(0)

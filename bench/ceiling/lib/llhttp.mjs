// llhttp (the parser in Node's http and in undici) driven from JS through the wasm build that
// undici ships: `undici/lib/llhttp/llhttp{_simd,}-wasm.js` + `constants.js`. undici has no
// "exports" map, so these deep paths resolve — but they are NOT a documented undici API (they can
// move in any release). The build contains the whole parser (TYPE.REQUEST and TYPE.RESPONSE),
// strict by default (no lenient flags set). FOR MEASUREMENT: is a strict parser affordable?
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const C = require('undici/lib/llhttp/constants.js')
export const TYPE = C.TYPE
export const ERROR = C.ERROR

let mod
try { mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js')) } catch { mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js')) }

const METHOD_NAMES = []
for (const [name, n] of Object.entries(C.METHODS)) METHOD_NAMES[n] = name

let cur = null // the Parser inside llhttp_execute
let curBuf = null // the JS chunk being parsed
let curPtr = 0 // where its copy starts in wasm memory

const str = (at, len) => curBuf.toString('latin1', at - curPtr, at - curPtr + len)

const inst = new WebAssembly.Instance(mod, {
  env: {
    wasm_on_url: (p, at, len) => { cur.url += str(at, len); return 0 },
    wasm_on_status: () => 0,
    wasm_on_message_begin: () => { cur.begin(); return 0 },
    wasm_on_header_field: (p, at, len) => {
      const c = cur
      if (c.inValue) { c.headers.push(c.field, c.value); c.field = ''; c.value = ''; c.inValue = false }
      c.field += str(at, len)
      return 0
    },
    wasm_on_header_value: (p, at, len) => { cur.value += str(at, len); cur.inValue = true; return 0 },
    wasm_on_headers_complete: (p, statusCode, upgrade, keepAlive) => {
      const c = cur
      if (c.field !== '') { c.headers.push(c.field, c.value); c.field = ''; c.value = ''; c.inValue = false }
      return c.h.onHeadersComplete(c, statusCode, upgrade === 1, keepAlive === 1)
    },
    wasm_on_body: (p, at, len) => {
      const s = at - curPtr
      return cur.h.onBody(cur, curBuf.subarray(s, s + len))
    },
    wasm_on_message_complete: () => cur.h.onMessageComplete(cur),
  },
})
const X = inst.exports
X._initialize?.()
let bufPtr = 0
let bufSize = 0

export class Parser {
  /** handler: { onHeadersComplete(parser, status, upgrade, keepAlive) → 0 | 1 (skip body) | -1 (error), onBody(parser, buf) → 0, onMessageComplete(parser) → 0 | ERROR.PAUSED } */
  constructor(type, handler) {
    this.ptr = X.llhttp_alloc(type)
    this.h = handler
    this.url = ''
    this.headers = []
    this.field = ''
    this.value = ''
    this.inValue = false
  }
  begin() {
    this.url = ''
    this.headers = []
    this.field = ''
    this.value = ''
    this.inValue = false
  }
  get method() { return METHOD_NAMES[X.llhttp_get_method(this.ptr)] }
  get status() { return X.llhttp_get_status_code(this.ptr) }
  get minor() { return X.llhttp_get_http_minor(this.ptr) }
  /** Parses `chunk`; returns 0, ERROR.PAUSED (with `this.consumed` bytes used), or another error code. */
  execute(chunk) {
    if (chunk.length > bufSize) {
      if (bufPtr) X.free(bufPtr)
      bufSize = Math.ceil(chunk.length / 4096) * 4096
      bufPtr = X.malloc(bufSize)
    }
    new Uint8Array(X.memory.buffer, bufPtr, chunk.length).set(chunk)
    cur = this
    curBuf = chunk
    curPtr = bufPtr
    const ret = X.llhttp_execute(this.ptr, bufPtr, chunk.length)
    this.consumed = ret === 0 ? chunk.length : X.llhttp_get_error_pos(this.ptr) - bufPtr
    cur = null
    curBuf = null
    return ret
  }
  resume() { X.llhttp_resume(this.ptr) }
  errorReason() {
    const p = X.llhttp_get_error_reason(this.ptr)
    if (!p) return ''
    const mem = new Uint8Array(X.memory.buffer, p)
    return Buffer.from(mem.subarray(0, mem.indexOf(0))).toString('latin1')
  }
  destroy() { X.llhttp_free(this.ptr) }
}

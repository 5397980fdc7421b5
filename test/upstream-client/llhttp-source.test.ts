/**
 * The upstream client parses with the llhttp wasm build inside the undici package, through deep
 * paths that are not a public undici API. If an undici release moves or changes them, this test
 * fails by name — update runtime/upstream-client/llhttp.ts (or vendor the two wasm files).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { LLHTTP_SOURCES, ResponseParser, PARSE_PAUSED } from '../../runtime/upstream-client/llhttp.js'

const require = createRequire(import.meta.url)

test('undici still ships llhttp (wasm with and without SIMD, constants) at the paths the client loads', () => {
  for (const [kind, path] of Object.entries(LLHTTP_SOURCES)) {
    let loaded: unknown
    assert.doesNotThrow(() => (loaded = require(path)), `undici moved ${path} (${kind}): see runtime/upstream-client/llhttp.ts`)
    if (kind !== 'constants') assert.ok(loaded instanceof Uint8Array && loaded.length > 10_000, `${path} is no longer the wasm bytes`)
  }
  const c = require(LLHTTP_SOURCES.constants) as { TYPE: Record<string, number>; ERROR: Record<string, number> }
  assert.equal(typeof c.TYPE.RESPONSE, 'number')
  assert.equal(typeof c.ERROR.PAUSED, 'number')
  // The exports and callbacks the binding relies on.
  const mod = new (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly.Module(require(LLHTTP_SOURCES.plain) as Uint8Array)
  const wasm = (globalThis as unknown as { WebAssembly: { Module: { exports(m: object): Array<{ name: string }>; imports(m: object): Array<{ name: string }> } } }).WebAssembly.Module
  const exports = new Set(wasm.exports(mod).map((e) => e.name))
  for (const name of ['llhttp_alloc', 'llhttp_free', 'llhttp_execute', 'llhttp_finish', 'llhttp_resume', 'llhttp_get_error_pos', 'llhttp_get_error_reason', 'malloc', 'free', 'memory']) {
    assert.ok(exports.has(name), `llhttp wasm export ${name} is missing`)
  }
  assert.deepEqual(new Set(wasm.imports(mod).map((i) => i.name)), new Set([
    'wasm_on_url', 'wasm_on_status', 'wasm_on_message_begin', 'wasm_on_header_field', 'wasm_on_header_value',
    'wasm_on_headers_complete', 'wasm_on_body', 'wasm_on_message_complete',
  ]))
})

test('the binding parses a response strictly: head as latin1 strings, trailing whitespace dropped, obs-fold refused', () => {
  const seen: string[] = []
  let parser!: ResponseParser
  const host = {
    onHeadersComplete: (status: number) => (seen.push(`head ${status} ${JSON.stringify(parser.headers)}`), 0),
    onBody: (chunk: Buffer) => (seen.push(`body ${chunk.toString()}`), 0),
    onMessageComplete: () => (seen.push('end'), PARSE_PAUSED),
  }
  parser = new ResponseParser(host, 1024)
  const ret = parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nX-A: caf\xe9  \r\nX-B:\r\nContent-Length: 2\r\n\r\nokNEXT', 'latin1'))
  assert.equal(ret, PARSE_PAUSED)
  assert.equal(parser.consumed, 'HTTP/1.1 200 OK\r\nX-A: caf\xe9  \r\nX-B:\r\nContent-Length: 2\r\n\r\nok'.length)
  assert.deepEqual(seen, ['head 200 ["X-A","café","X-B","","Content-Length","2"]', 'body ok', 'end'])
  parser.destroy()

  const folded = new ResponseParser(host, 1024)
  assert.notEqual(folded.execute(Buffer.from('HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n')), 0)
  assert.match(folded.reason(), /whitespace after header value/)
  folded.destroy()

  const big = new ResponseParser(host, 100)
  assert.notEqual(big.execute(Buffer.from(`HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(200)}\r\n\r\n`)), 0)
  assert.equal(big.reason(), 'head too large')
  big.destroy()
})

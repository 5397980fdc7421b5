// What V8's optimising compile of llhttp (undici's WebAssembly build, the parser of every request
// and response head here) costs in memory, and how fast the code it makes parses a response head.
//
//   MALLOC_TRIM_THRESHOLD_=67108864 node [V8 flags] bench/llhttp-compile.cjs
//
// The trim threshold is the one workers run with (src/supervisor/heap-flags.ts): memory the compile
// frees then stays resident, so the growth of RssAnon is what a worker keeps. Compare flags, e.g.
// `--turbo-force-mid-tier-regalloc`, `--no-wasm-loop-unrolling`, `--liftoff-only` (bench/README.md).
'use strict'
const { readFileSync } = require('node:fs')

const anonMiB = () => Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024
const before = anonMiB()
const mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js'))
const noop = () => 0
const env = { wasm_on_url: noop, wasm_on_status: noop, wasm_on_message_begin: noop, wasm_on_header_field: noop, wasm_on_header_value: noop, wasm_on_headers_complete: noop, wasm_on_body: noop, wasm_on_message_complete: noop }
const x = new WebAssembly.Instance(mod, { env }).exports
x._initialize?.()

// A response head as nginx sends it, with a 12-byte body.
const head = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 07:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nLast-Modified: Sun, 22 Nov 2026 06:00:00 GMT\r\nConnection: keep-alive\r\nETag: "6560a7c0-c"\r\nAccept-Ranges: bytes\r\n\r\nhello world\n')
const RESPONSE = 2
const parser = x.llhttp_alloc(RESPONSE)
const at = x.malloc(head.length)
new Uint8Array(x.memory.buffer).set(head, at)
function parse(times) {
  for (let i = 0; i < times; i++) {
    x.llhttp_reset(parser)
    if (x.llhttp_execute(parser, at, head.length) !== 0) throw new Error('llhttp refused the head')
  }
}

// Long enough for V8 to tier the parser up and finish compiling it in the background.
const warmUntil = Date.now() + 1500
while (Date.now() < warmUntil) parse(1000)
const kept = anonMiB() - before
const N = 500_000
const t0 = performance.now()
parse(N)
const ns = ((performance.now() - t0) * 1e6) / N
console.log(JSON.stringify({ flags: process.execArgv.join(' ') || '(none)', nsPerHead: Math.round(ns), anonGrowthMiB: Number(kept.toFixed(1)) }))

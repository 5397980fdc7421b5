import type { Writable } from 'node:stream'

/**
 * How much a client socket (and the request and response on it) buffers in JS before a write
 * reports backpressure, or before an unread request body pauses the socket. Node's default is
 * 16 KiB, smaller than one 64 KiB socket read: each chunk of a large response written to a client
 * that could not take it at once paused the upstream and waited for 'drain'. 128 KiB lets one read
 * pass through. Measured in issue #6 (`npm run bench -- --only 1m-download,64k,1m-upload --proxies
 * nginx,switchyard --rounds 3 --duration 4`): 64 KiB downloads 87 → 77 µs of CPU per request,
 * 1 MiB uploads 977 → 779 µs. It is a threshold, not an allocation: an idle connection costs
 * nothing more. A client that stops reading a large download leaves ~195 KiB held per connection
 * (122 KiB with 16 KiB); a body nobody reads yet (a hook still deciding), up to ~160 KiB (64 KiB) on
 * node:http's front, and up to ~290 KiB on the fast front, whose socket is read through 'data'
 * events: a paused socket's own buffer fills to this mark too before Node stops reading it.
 * Upstream sockets keep Node's defaults: a larger write buffer alone showed no gain for uploads
 * and held ~130 KiB more per upload to a server that stops reading. What did help uploads was
 * fewer, larger writes: see BODY_WRITE_BUFFER in upstream-client/request-body.ts.
 */
export const STREAM_HIGH_WATER_MARK = 128 * 1024

/**
 * Corks `socket` until the end of this turn of the event loop (setImmediate), unless it is
 * corked already; says whether this call corked it. libuv reads a socket again at once while
 * each read fills its 64 KiB buffer, so what those reads bring in one turn goes out in one
 * write instead of one each (issue #6): response bodies on the fast front, request bodies to
 * an upstream.
 */
export function corkForThisTurn(socket: Writable): boolean {
  if (socket.writableCorked !== 0) return false
  socket.cork()
  setImmediate(uncork, socket)
  return true
}

/** `socket.uncork()` as a plain function, for nextTick/setImmediate without a closure. */
export function uncork(socket: Writable): void {
  socket.uncork()
}

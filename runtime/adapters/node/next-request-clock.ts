/**
 * How long a connection node:http serves may go without starting a request. node:http times a
 * head only from its first byte (llhttp's message begin), and its keep-alive timeout restarts
 * with every read; empty lines between requests begin no message (RFC 9112 §2.2 lets a server
 * skip them), so a client sending `\r\n` every few seconds kept a connection forever.
 *
 * Here a connection gets `keepAliveTimeout + headersTimeout` from when node:http takes it over
 * and after each response to start its next request, whatever it sends meanwhile; then it gets
 * 408 and is closed (as by the fast front, which times a head from its first byte, and nginx's
 * client_header_timeout). A head begun within the keep-alive time is node:http's to time
 * (headersTimeout from its first byte, which ends first), so no client sending a request is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

const kClock = Symbol('switchyard.nextRequestClock')
const kWatched = Symbol('switchyard.nextRequestClockWatched')

interface ClockedSocket extends Socket {
  [kClock]?: NodeJS.Timeout
  [kWatched]?: true
  /** node:http's parser while it reads the socket (null once an upgrade took it). */
  parser?: { incoming?: IncomingMessage | null } | null
  /** node:http's response in progress on the socket. */
  _httpMessage?: ServerResponse | null
}

export class NextRequestClock {
  /** `timedOut`: the 408 to send (the listener's, as for a head the fast front timed out). */
  constructor(readonly headersTimeout: number, readonly keepAliveTimeout: number, readonly timedOut: string) {}

  /** node:http takes `socket` over (a new connection, or one the fast front handed over). */
  takeOver(socket: Socket): void {
    const s = socket as ClockedSocket
    if (!s[kWatched]) {
      s[kWatched] = true
      socket.once('close', stop)
    }
    this.#arm(s)
  }

  /** node:http emitted a request on `socket` (plain, expecting 100-continue, or an upgrade). */
  requestStarted(socket: Socket, res: ServerResponse | undefined): void {
    const s = socket as ClockedSocket
    clearTimeout(s[kClock])
    s[kClock] = undefined
    res?.once('finish', () => this.#responseDone(s))
  }

  #responseDone(s: ClockedSocket): void {
    // Not node:http's any more (an upgrade pipelined behind this response): not this clock's.
    if (!s.destroyed && s.writable && s.parser) this.#arm(s)
  }

  /** Starts the clock again, whole (the end of an answered request's body that was still arriving). */
  rearm(s: Socket): void {
    this.#arm(s as ClockedSocket)
  }

  #arm(s: ClockedSocket): void {
    // Either timeout off: node:http's own keep-alive or head timing is all there is, as configured.
    if (this.keepAliveTimeout <= 0 || this.headersTimeout <= 0) return
    clearTimeout(s[kClock])
    s[kClock] = setTimeout(expire, this.keepAliveTimeout + this.headersTimeout, s, this).unref()
  }
}

function stop(this: ClockedSocket): void {
  clearTimeout(this[kClock])
  this[kClock] = undefined
}

function expire(s: ClockedSocket, clock: NextRequestClock): void {
  s[kClock] = undefined
  // A request in progress (its response not finished) is not this clock's business; nor a socket
  // node:http no longer parses (an upgrade took it: a tunnel, or back to the fast front).
  if (s.destroyed || s._httpMessage != null || !s.parser) return
  // An answered request's body still arriving (discarded): the next request can only follow it,
  // so the clock starts again, whole, at its end (the body guard times that body meanwhile).
  const incoming = s.parser.incoming
  if (incoming != null && !incoming.complete) return void incoming.once('end', () => clock.rearm(s))
  if (!s.writable) return void s.destroy()
  s.end(clock.timedOut, () => s.destroy())
}

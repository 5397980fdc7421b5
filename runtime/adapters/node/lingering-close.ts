/**
 * The end of a lingering close, as nginx's (lingering_close): a connection being closed while
 * the client may still be sending is not destroyed while unread bytes remain — Linux would then
 * send a reset, which throws away the part of the response not yet delivered. Both fronts use it:
 * the fast front (fast-front.ts, #closeSoon) and node:http's (node-listener.ts, lingeringClose).
 */
import type { Socket } from 'node:net'
import { LINGER_MS } from '../../body-guard.js'

/** Destroys `s` once what was written to it is flushed. */
export function destroyWhenFlushed(s: Socket): void {
  if (s.writableFinished) s.destroy()
  else s.once('finish', () => s.destroy())
}

/**
 * `s` is ended and what the client sends is being read and dropped: close it when the client
 * closes its side too, or LINGER_MS after the response is flushed.
 */
export function lingerUntilClientCloses(s: Socket): void {
  s.once('end', () => destroyWhenFlushed(s))
  const expire = (): void => {
    const timer = setTimeout(() => s.destroy(), LINGER_MS)
    s.once('close', () => clearTimeout(timer))
  }
  if (s.writableFinished) expire()
  else s.once('finish', expire)
}

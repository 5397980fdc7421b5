/**
 * An HTTP answer to an upgrade request that is not switched (an error, a hook's refusal, the
 * upstream's non-101 response), written on the raw socket node:http handed over. A
 * ServerResponse attached to that socket does the framing, so the usual senders (sendError,
 * ClientSink, sendWebResponse) work unchanged; the connection closes once it is written.
 */
import type { ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/**
 * Attaches `res` (built for the upgrade request, not yet attached) to `socket`; it emits 'close'
 * when the socket closes. False, with the socket destroyed, when another response still owns the
 * socket (the listener waits for earlier responses, so this is a guard, never a throw).
 */
export function attachToSocket(res: ServerResponse, socket: Socket): boolean {
  if ((socket as Socket & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy()
    return false
  }
  res.shouldKeepAlive = false // `Connection: close`: the rest of the socket is never parsed
  res.assignSocket(socket)
  res.once('finish', () => socket.destroySoon())
  return true
}

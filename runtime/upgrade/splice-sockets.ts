/**
 * Joins a switched client connection and its upstream connection: bytes are copied both ways
 * with `pipe` (backpressure), whatever the protocol.
 *
 * Closing, as nginx does (no half-open tunnels): when one side ends its half (FIN), what it
 * sent is delivered and the other side's half ended; once that is flushed both connections
 * close. A side that closes or errors closes the other (after flushing what is queued for it).
 * With `idleMs` > 0, a tunnel that carries no byte in either direction that long is closed.
 */
import type { Socket } from 'node:net'

export interface SpliceEnds {
  /** Written to the client first: the 101 head, then the bytes that followed the upstream's. */
  toClient: ReadonlyArray<string | Buffer>
  /** Written to the upstream first: the bytes the client sent after its head. */
  toUpstream: readonly Buffer[]
  idleMs: number
}

export interface SpliceReport {
  /** Bytes from the upstream to the client (the 101 head excluded). */
  bytesOut: number
  /** Bytes from the client to the upstream. */
  bytesIn: number
  /** Why it ended, when not by a side closing normally. */
  error: string | undefined
}

/** Calls `closed` once both connections are closed. */
export function spliceSockets(client: Socket, upstream: Socket, ends: SpliceEnds, closed: (report: SpliceReport) => void): void {
  const report: SpliceReport = { bytesOut: 0, bytesIn: 0, error: undefined }
  let open = 2
  const oneClosed = (): void => {
    if (--open === 0) closed(report)
  }
  const closeBoth = (): void => {
    client.destroySoon()
    upstream.destroySoon()
  }
  const ended = (to: Socket) => (): void => {
    if (to.writableFinished || to.destroyed) closeBoth()
    else to.once('finish', closeBoth)
  }
  client.once('end', ended(upstream))
  upstream.once('end', ended(client))
  client.once('close', () => {
    upstream.destroySoon()
    oneClosed()
  })
  upstream.once('close', () => {
    client.destroySoon()
    oneClosed()
  })
  client.on('error', (err: NodeJS.ErrnoException) => {
    report.error ??= `client connection error: ${err.code ?? err.message}`
    upstream.destroy()
  })
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    report.error ??= `upstream connection error: ${err.code ?? err.message}`
    client.destroy()
  })
  // Either socket sees every byte of the tunnel (read on one side is written on the other), so
  // each one's inactivity timer is the tunnel's; the second covers a side left flushing.
  client.setTimeout(ends.idleMs)
  upstream.setTimeout(ends.idleMs)
  if (ends.idleMs > 0) {
    const onIdle = (): void => {
      report.error ??= `tunnel idle for ${ends.idleMs}ms`
      client.destroy()
      upstream.destroy()
    }
    client.on('timeout', onIdle)
    upstream.on('timeout', onIdle)
  }
  upstream.setNoDelay(true)
  for (let i = 0; i < ends.toClient.length; i++) {
    const chunk = ends.toClient[i]!
    if (i > 0) report.bytesOut += chunk.length
    client.write(chunk, 'latin1')
  }
  for (const chunk of ends.toUpstream) {
    report.bytesIn += chunk.length
    upstream.write(chunk)
  }
  upstream.pipe(client)
  client.pipe(upstream)
  upstream.on('data', (chunk: Buffer) => (report.bytesOut += chunk.length))
  client.on('data', (chunk: Buffer) => (report.bytesIn += chunk.length))
}

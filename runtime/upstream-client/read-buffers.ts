/**
 * Where upstream sockets (plain TCP) read into, instead of a new buffer per read.
 *
 * Node's default reading allocates a 64 KiB ArrayBuffer for every read of every socket and
 * shrinks it to what was read. A 1 MiB response is ~17 of them; past ~32 MiB of such buffers V8
 * forces a young-generation GC ("external memory pressure"), every ~25 ms under a 1 MiB load:
 * ~7 % of the CPU (issue #6). Here a connection reads (net's `onread`):
 *
 * - its heads, and bodies between them, into one small buffer shared by every connection. What
 *   a read there holds is used or copied before the read callback returns (llhttp copies a head
 *   into its own memory; body bytes are copied out): nothing else can read into it meanwhile, and
 *   an idle connection pins no memory of its own.
 * - a body, once its head is parsed, into 64 KiB buffers from a free list. The chunks a handler
 *   gets are views of such a buffer: it is *lent* to the handler and goes back to the free list
 *   only once the handler's `chunkHolder` says none of them is referenced any more (the forwarder
 *   to a client, when the client socket has written everything out). A handler that may keep
 *   chunks (the cache, Web streams) leaves the buffer to the GC, as Node's own reads are, and so
 *   does one whose client went away with writes pending; a read much smaller than the buffer is
 *   copied instead, so a kept chunk never pins a buffer much larger than itself.
 *
 * Whatever the handler says, a buffer is never read into while a view of it may be in use: it
 * is either back on the free list, after its holder let go, or forgotten.
 */

/** Size of the shared buffer heads are read into (most responses of an API fit in one read). */
export const HEAD_READ_SIZE = 16 * 1024
/** Size of a body read buffer: libuv's own read size. */
export const BODY_READ_SIZE = 64 * 1024
/**
 * A read of a body buffer smaller than this is copied for a handler that may keep its chunks
 * (which then pin at most 4/3 of their size; Node's own reads shrink to what was read).
 */
export const COPY_BELOW = 48 * 1024

/** Free body buffers kept for reuse (2 MiB); more go to the GC. */
const MAX_FREE = 32
/** Lent buffers waited for; past this the oldest is forgotten (left to the GC). */
const MAX_LENT = 64

/**
 * What a holder says of the chunks it was given: none is referenced any more (written out to the
 * kernel, or dropped); some may still be read; or it will never know (its client went away with
 * writes pending): the buffer is then forgotten, not reused.
 */
export type ChunkState = 'released' | 'held' | 'lost'

/** Who was given views of a lent buffer. */
export interface ChunkHolder {
  chunkState(): ChunkState
}

/** The buffer every connection reads into between bodies: valid only during a read callback. */
export const sharedReadBuffer: Buffer = Buffer.allocUnsafeSlow(HEAD_READ_SIZE)

const free: Buffer[] = []
const lent: Buffer[] = []
const holders: ChunkHolder[] = []
let reclaimScheduled = false
/** Body buffers allocated so far (for tests and measurement). */
let allocated = 0

/** A body buffer: a free one, else a new one. */
export function takeReadBuffer(): Buffer {
  if (free.length === 0 && lent.length > 0) reclaim()
  const buffer = free.pop()
  if (buffer !== undefined) return buffer
  allocated++
  return Buffer.allocUnsafeSlow(BODY_READ_SIZE)
}

/** A body buffer no view of which was handed out. */
export function returnReadBuffer(buffer: Buffer): void {
  if (free.length < MAX_FREE) free.push(buffer)
}

/** `buffer` holds chunks given to `holder`: reused once the holder has released them. */
export function lendReadBuffer(buffer: Buffer, holder: ChunkHolder): void {
  if (lent.length >= MAX_LENT) {
    lent.shift()
    holders.shift()
  }
  lent.push(buffer)
  holders.push(holder)
  // At the end of this turn the writes of a response are usually out (they are corked until
  // then): the buffers go back to the free list even if this connection reads no more.
  if (!reclaimScheduled) {
    reclaimScheduled = true
    setImmediate(reclaimLater)
  }
}

function reclaimLater(): void {
  reclaimScheduled = false
  reclaim()
}

/** Moves every lent buffer whose holder has released its chunks to the free list; forgets the lost ones. */
function reclaim(): void {
  let kept = 0
  for (let i = 0; i < lent.length; i++) {
    const holder = holders[i]!
    const state = holder.chunkState()
    if (state === 'released') returnReadBuffer(lent[i]!)
    else if (state === 'held') {
      lent[kept] = lent[i]!
      holders[kept++] = holder
    }
  }
  lent.length = kept
  holders.length = kept
}

/** Counts, for tests and measurement: body buffers allocated, free and lent. */
export function readBufferStats(): { allocated: number; free: number; lent: number } {
  return { allocated, free: free.length, lent: lent.length }
}

/**
 * A pool of keep-alive connections to one upstream server (an origin). One request per
 * connection at a time (no pipelining); at most `connections` open; further requests wait in a
 * FIFO queue. Idle connections are reused last-in first-out (the warmest first; the others
 * reach their idle timeout and close).
 *
 * Reusing an idle connection waits one turn of the event loop (a setImmediate shared by every
 * request of that turn): bytes, a FIN or a reset the server sent while the connection was idle
 * are then seen first, and the connection is dropped instead of having them read as the next
 * request's response (undici does the same since GHSA-35p6-xmwp-9g52).
 *
 * Deadlines (connect, response head, body idle, keep-alive idle) are checked by one unref'd
 * interval per pool, running only while the pool has connections.
 */
import type { UpstreamHandler, UpstreamRequest } from './types.js'
import { Connection } from './connection.js'
import { Exchange, type ExchangeOwner } from './exchange.js'
import { prepareHead } from './request-head.js'
import { UpstreamClientError } from './errors.js'
import { resolvePoolSettings, type ConnectionOwner, type PoolSettings, type UpstreamPoolOptions } from './pool-settings.js'

export type { UpstreamPoolOptions } from './pool-settings.js'

export interface PoolStats {
  /** Open connections (connecting, busy, idle). */
  connections: number
  idle: number
  /** Requests waiting for a connection. */
  queued: number
}

export class UpstreamPool implements ConnectionOwner, ExchangeOwner {
  readonly settings: PoolSettings
  readonly #all: Connection[] = []
  readonly #idle: Connection[] = []
  readonly #queue: Exchange[] = []
  /** Idle connections reserved for a request, written at the next check. */
  #checking: Connection[] = []
  #checkScheduled = false
  #sweep: NodeJS.Timeout | undefined
  /** Sockets not yet closed (a connection leaves #all before its socket emits 'close'). */
  #sockets = 0
  #closing = false
  #destroyed = false
  #closed: Promise<void> | undefined
  #resolveClosed: (() => void) | undefined

  constructor(readonly origin: string, options: UpstreamPoolOptions = {}) {
    this.settings = resolvePoolSettings(origin, options)
  }

  get stats(): PoolStats {
    return { connections: this.#all.length, idle: this.#idle.length, queued: this.#queue.length }
  }

  /** Sends a request; the handler hears about it (see UpstreamHandler). */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.#closing) {
      handler.onError(new UpstreamClientError('SWITCHYARD_POOL_CLOSED', 'upstream connection pool closed'))
      return
    }
    const ex = new Exchange(this, handler, request)
    try {
      prepareHead(ex, request.method, request.path, request.headers, this.settings.hostHeader)
    } catch (err) {
      handler.onError(err as Error)
      return
    }
    handler.onConnect(ex.abort)
    if (!ex.done) this.#assign(ex)
  }

  /** Stops taking requests; resolves once queued and in-flight requests are done and every socket is closed. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      for (const conn of this.#idle.splice(0)) conn.close()
    }
    return this.#whenClosed()
  }

  /** Ends every queued and in-flight request with `err` and closes every connection. */
  destroy(err?: Error): Promise<void> {
    if (!this.#destroyed) {
      this.#destroyed = true
      this.#closing = true
      const error = err ?? new UpstreamClientError('SWITCHYARD_POOL_CLOSED', 'upstream connection pool destroyed')
      for (const ex of this.#queue.splice(0)) this.#end(ex, error)
      for (const conn of this.#checking.splice(0)) {
        const ex = conn.reserved!
        conn.reserved = undefined
        this.#end(ex, error)
      }
      for (const conn of [...this.#all]) {
        if (conn.exchange !== undefined) conn.abort(error)
        else conn.close()
      }
    }
    return this.#whenClosed()
  }

  // ---- ExchangeOwner ----

  abort(ex: Exchange, err: Error | undefined): void {
    if (ex.done) return
    const error = err ?? new UpstreamClientError('SWITCHYARD_ABORTED', 'request aborted')
    if (ex.conn !== undefined) return ex.conn.abort(error)
    const queued = this.#queue.indexOf(ex)
    if (queued >= 0) this.#queue.splice(queued, 1)
    // Reserved for an idle check: the check sees `done` and puts the connection back.
    this.#end(ex, error)
  }

  // ---- ConnectionOwner ----

  release(conn: Connection): void {
    const next = this.#queue.shift()
    if (next !== undefined) return this.#check(conn, next)
    if (this.#closing) return conn.close()
    conn.makeIdle()
    this.#idle.push(conn)
  }

  removed(conn: Connection): void {
    const all = this.#all
    const last = all.pop()!
    if (last !== conn) {
      all[conn.index] = last
      last.index = conn.index
    }
    if (all.length === 0 && this.#sweep !== undefined) {
      clearInterval(this.#sweep)
      this.#sweep = undefined
    }
    const idle = this.#idle.lastIndexOf(conn)
    if (idle >= 0) this.#idle.splice(idle, 1)
    // A slot opened: the longest-waiting request gets a new connection.
    if (this.#queue.length > 0 && !this.#destroyed) this.#open().start(this.#queue.shift()!)
  }

  socketClosed(): void {
    this.#sockets--
    this.#maybeClosed()
  }

  retry(ex: Exchange): boolean {
    if (this.#destroyed) return false
    ex.retried = true
    if (this.#all.length < this.settings.connections) this.#open().start(ex)
    else this.#queue.unshift(ex) // it was sent before anything now queued
    return true
  }

  // ---- internals ----

  #assign(ex: Exchange): void {
    const idle = this.#idle.pop()
    if (idle !== undefined) return this.#check(idle, ex)
    if (this.#all.length < this.settings.connections) return this.#open().start(ex)
    this.#queue.push(ex)
  }

  #open(): Connection {
    const conn = new Connection(this)
    conn.index = this.#all.length
    this.#all.push(conn)
    this.#sockets++
    if (this.#sweep === undefined) {
      this.#sweep = setInterval(this.#expire, this.settings.sweepInterval)
      this.#sweep.unref()
    }
    return conn
  }

  /** Reserve `conn` (previously used) for `ex`; write it at the next check. */
  #check(conn: Connection, ex: Exchange): void {
    conn.reserve(ex)
    this.#checking.push(conn)
    if (!this.#checkScheduled) {
      this.#checkScheduled = true
      setImmediate(this.#runChecks) // ref'd: the pending request keeps the process alive
    }
  }

  readonly #runChecks = (): void => {
    this.#checkScheduled = false
    const list = this.#checking
    this.#checking = []
    for (const conn of list) {
      const ex = conn.reserved
      if (ex === undefined) continue // taken by destroy()
      conn.reserved = undefined
      if (ex.done) {
        if (!conn.closed) this.release(conn) // aborted meanwhile
      } else if (conn.closed) {
        this.#assign(ex) // the server closed it while idle
      } else {
        conn.start(ex)
      }
    }
  }

  readonly #expire = (): void => {
    const now = performance.now()
    const all = this.#all
    // Backwards: an expiring connection is replaced at its index by the last one, already seen.
    for (let i = all.length - 1; i >= 0; i--) {
      const conn = all[i]
      if (conn !== undefined && conn.deadline !== 0 && now >= conn.deadline) conn.expire()
    }
  }

  #end(ex: Exchange, err: Error): void {
    ex.done = true
    ex.handler.onError(err)
  }

  #whenClosed(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => (this.#resolveClosed = resolve))
    this.#maybeClosed()
    return this.#closed
  }

  #maybeClosed(): void {
    if (!this.#closing || this.#sockets > 0 || this.#queue.length > 0 || this.#checking.length > 0) return
    this.#resolveClosed?.()
  }
}

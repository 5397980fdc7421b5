/** The worker's side of the supervisor protocol (see protocol.ts). */
import type { ConfigBundle } from '../config/bundle-config.js'
import { REPORT_FD, WORKER_ENV, type FromWorker, type ToWorker } from './protocol.js'

export class SupervisorChannel {
  readonly slot = Number(process.env[WORKER_ENV])
  readonly reportFd = REPORT_FD
  #onStop: ((signal: NodeJS.Signals) => void) | undefined
  #onReload: (() => void) | undefined

  private constructor() {
    process.on('message', (m: ToWorker) => {
      if (m?.sy === 'stop') this.#onStop?.(m.signal)
      else if (m?.sy === 'reload') this.#onReload?.()
    })
  }

  /** True in a process the supervisor forked. */
  static get supervised(): boolean {
    return process.env[WORKER_ENV] !== undefined && typeof process.send === 'function'
  }

  /** Says hello and waits for the boot instructions. */
  static connect(): Promise<{ channel: SupervisorChannel; bundle: ConfigBundle | undefined }> {
    const channel = new SupervisorChannel()
    return new Promise((resolve) => {
      const onBoot = (m: ToWorker) => {
        if (m?.sy !== 'boot') return
        process.off('message', onBoot)
        resolve({ channel, bundle: m.bundle })
      }
      process.on('message', onBoot)
      channel.#send({ sy: 'hello' })
    })
  }

  ready(drainTimeout: number, bundle: ConfigBundle, format: 'pretty' | 'json'): void {
    this.#send({ sy: 'ready', drainTimeout, bundle, format })
  }

  config(ok: boolean, bundle: ConfigBundle | undefined): void {
    this.#send({ sy: 'config', ok, bundle })
  }

  onStop(fn: (signal: NodeJS.Signals) => void): void {
    this.#onStop = fn
  }

  onReload(fn: () => void): void {
    this.#onReload = fn
  }

  #send(m: FromWorker): void {
    if (process.connected) process.send!(m)
  }
}

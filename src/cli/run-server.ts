/**
 * `switchyard dev` / `switchyard start`: run until SIGINT/SIGTERM, then drain and exit 0.
 * By default this process becomes the supervisor (src/supervisor/) and the proxy runs in a
 * forked worker — the same command, in cluster worker mode — watched by an event-loop
 * watchdog (runtime/watchdog/). `--no-supervisor` runs the proxy in this process.
 */
import cluster from 'node:cluster'
import { relative } from 'node:path'
import { findConfig } from '../config/find-config.js'
import { parseDuration } from '../config/units.js'
import type { SwitchyardServer } from '../server/switchyard-server.js'
import { createLogger } from '../log/logger.js'
import { startWatchdog } from '../../runtime/watchdog/watchdog.js'
import { runSupervisor } from '../supervisor/supervisor.js'
import { SupervisorChannel } from '../supervisor/worker-channel.js'
import type { ConfigBundle } from '../config/bundle-config.js'
import type { ConfigMode } from '../config/types.js'
import type { GlobalOptions } from './cli.js'

/** Default `--blocked-after`. */
const BLOCKED_AFTER_MS = 2000

export async function runServer(mode: ConfigMode, configPath: string | undefined, o: GlobalOptions): Promise<number> {
  const log = createLogger({ format: o.json ? 'json' : 'pretty' })
  let file: string
  let blockedAfter: number
  let workers: number
  try {
    file = findConfig(configPath)
    blockedAfter = option('--blocked-after', parseDuration(o.blockedAfter ?? BLOCKED_AFTER_MS))
    workers = option('--workers', o.workers === undefined ? 1 : Number.isInteger(o.workers) && Number(o.workers) >= 1 ? Number(o.workers) : `expected a number of workers ≥ 1, got '${String(o.workers)}'`)
  } catch (err) {
    log.error((err as Error).message)
    return 1
  }
  if (o.supervisor !== false && cluster.isPrimary) return runSupervisor({ workers, log })
  const supervised = SupervisorChannel.supervised
  const boot = supervised ? await SupervisorChannel.connect() : undefined
  const channel = boot?.channel
  try {
    return await serve(mode, file, o, log, blockedAfter, channel, boot?.bundle)
  } finally {
    // Lets the worker exit once the proxy is closed (the IPC channel would keep it alive).
    if (supervised) cluster.worker?.disconnect()
  }
}

async function serve(
  mode: ConfigMode, file: string, o: GlobalOptions, log: ReturnType<typeof createLogger>, blockedAfter: number,
  channel: SupervisorChannel | undefined, bundle: ConfigBundle | undefined,
): Promise<number> {
  // Imported here, not at the top: the supervisor never needs the proxy (esbuild, the runtime) in
  // memory. And before the watchdog starts: loading modules blocks the loop too.
  const { SwitchyardServer } = await import('../server/switchyard-server.js')
  const { watchdog, disabled } = startWatchdog({ blockedAfter, format: log.format, reportFd: channel?.reportFd })
  if (disabled && blockedAfter > 0) log.warn(`event-loop watchdog off: ${disabled}`)
  const started = performance.now()
  let server: SwitchyardServer
  let loaded: ConfigBundle | undefined
  try {
    server = await SwitchyardServer.start({
      configFile: file, mode, watch: mode === 'dev', log, fixedLogFormat: o.json === true,
      override: { port: o.port, host: o.host },
      initialBundle: bundle,
      onConfig(e) {
        if (e.type === 'loading') return watchdog.phase(e.reload ? 'reloading' : 'loading')
        watchdog.phase('serving')
        watchdog.format(log.format)
        if (!e.reload) loaded = e.type === 'loaded' ? e.bundle : undefined
        else channel?.config(e.type === 'loaded', e.type === 'loaded' ? e.bundle : undefined)
      },
    })
  } catch (err) {
    log.error(`could not start:\n${(err as Error).message}`)
    await watchdog.stop()
    return 1
  }
  const shown = relative(process.cwd(), file) || file
  const gen = server.generation
  for (const a of server.addresses) {
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    log.info(`switchyard ${mode}: listening on http://${host}:${a.port}`, channel ? { pid: process.pid, worker: channel.slot } : { pid: process.pid })
  }
  // A replacement serves what its predecessor served, not the file as it is now on disk.
  const from = bundle ? ' (the version the previous worker served)' : ''
  log.info(`loaded ${shown}${from} in ${(performance.now() - started).toFixed(0)} ms: ${gen.config.routes.length} routes, ${gen.groups.size} upstreams${mode === 'dev' ? ' — watching for changes' : ''}`)
  channel?.ready(gen.config.server.drainTimeout, loaded!, log.format)

  const onHup = () => void server.reload()
  process.on('SIGHUP', onHup)
  channel?.onReload(onHup)
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
    // The supervisor's stop is the same first signal (Ctrl-C reaches both processes).
    channel?.onStop(resolve)
  })
  process.off('SIGHUP', onHup)
  channel?.onReload(() => {})
  const drain = server.generation.config.server.drainTimeout
  log.info(`${signal}: draining in-flight requests (up to ${drain} ms)`)
  // A second signal while draining stops at once.
  const force = () => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await server.close(drain)
  await watchdog.stop()
  log.info('stopped')
  return 0
}

function option(name: string, value: number | string): number {
  if (typeof value === 'string') throw new Error(`${name}: ${value}`)
  return value
}

/** `switchyard dev` / `switchyard start`: run until SIGINT/SIGTERM, then drain and exit 0. */
import { relative } from 'node:path'
import { findConfig } from '../config/find-config.js'
import { SwitchyardServer } from '../server/switchyard-server.js'
import { createLogger } from '../log/logger.js'
import type { ConfigMode } from '../config/types.js'
import type { GlobalOptions } from './cli.js'

export async function runServer(mode: ConfigMode, configPath: string | undefined, o: GlobalOptions): Promise<number> {
  const log = createLogger({ format: o.json ? 'json' : 'pretty' })
  let file: string
  try {
    file = findConfig(configPath)
  } catch (err) {
    log.error((err as Error).message)
    return 1
  }
  const started = performance.now()
  let server: SwitchyardServer
  try {
    server = await SwitchyardServer.start({
      configFile: file, mode, watch: mode === 'dev', log, fixedLogFormat: o.json === true,
      override: { port: o.port, host: o.host },
    })
  } catch (err) {
    log.error(`could not start:\n${(err as Error).message}`)
    return 1
  }
  const shown = relative(process.cwd(), file) || file
  const gen = server.generation
  for (const a of server.addresses) {
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address
    log.info(`switchyard ${mode}: listening on http://${host}:${a.port}`, { pid: process.pid })
  }
  log.info(`loaded ${shown} in ${(performance.now() - started).toFixed(0)} ms: ${gen.config.routes.length} routes, ${gen.groups.size} upstreams${mode === 'dev' ? ' — watching for changes' : ''}`)

  const onHup = () => void server.reload()
  process.on('SIGHUP', onHup)
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  process.off('SIGHUP', onHup)
  const drain = gen.config.server.drainTimeout
  log.info(`${signal}: draining in-flight requests (up to ${drain} ms)`)
  // A second signal while draining stops at once.
  const force = () => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await server.close(drain)
  log.info('stopped')
  return 0
}

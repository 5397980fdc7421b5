/** `switchyard` command line: dev, start, check, init, purge. Commands load their modules on use (the supervisor process stays small). */
import { cac } from 'cac'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { PurgeOptions } from './purge.js'

export interface GlobalOptions {
  config?: string
  port?: number
  host?: string
  json?: boolean
  force?: boolean
  /** `start`: proxy worker processes (default 1). */
  workers?: number
  /** `dev`/`start`: a loop blocked this long (ms or '2s') is reported and its worker replaced; 0 turns the watchdog off. */
  blockedAfter?: string | number
  /** `--no-supervisor`: run the proxy in this process, without a supervisor. */
  supervisor?: boolean
}

const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as { version: string }

export async function runCli(argv: string[]): Promise<number> {
  const cli = cac('switchyard')
  let result: Promise<number> = Promise.resolve(0)
  cli.option('-c, --config <file>', 'Config file (default: ./proxy.config.ts)')
  cli.option('-p, --port <port>', 'Listen on this port instead of the config\'s listeners')
  cli.option('--host <host>', 'Listen on this address instead of the config\'s')

  cli.command('dev [config]', 'Run the proxy and reload it whenever the config or a file it imports changes')
    .option('--json', 'Log JSON lines instead of readable text')
    .option('--blocked-after <duration>', 'Report and replace the proxy when its event loop is blocked this long (default 2s; 0: off)')
    .option('--no-supervisor', 'Run the proxy in this process (no supervisor, no replacement of a blocked proxy)')
    .action((config: string | undefined, o: GlobalOptions) => (result = import('./run-server.js').then((m) => m.runServer('dev', config ?? o.config, o))))
  cli.command('start [config]', 'Run the proxy for production: no file watching, reload on SIGHUP')
    .option('--json', 'Log JSON lines instead of readable text')
    .option('--workers <n>', 'Proxy worker processes sharing the listeners (default 1)')
    .option('--blocked-after <duration>', 'Report and replace a worker whose event loop is blocked this long (default 2s; 0: off)')
    .option('--no-supervisor', 'Run the proxy in this process (no supervisor, no replacement of a blocked proxy)')
    .action((config: string | undefined, o: GlobalOptions) => (result = import('./run-server.js').then((m) => m.runServer('start', config ?? o.config, o))))
  cli.command('check [config]', 'Compile and validate the config; print its routes and upstreams')
    .action((config: string | undefined, o: GlobalOptions) => (result = import('./check.js').then((m) => m.runCheck(config ?? o.config))))
  cli.command('init [dir]', 'Write a commented starter proxy.config.ts')
    .option('--force', 'Overwrite an existing proxy.config.ts')
    .action((dir: string | undefined, o: GlobalOptions) => (result = import('./init.js').then((m) => m.runInit(dir, o.force === true))))
  cli.command('purge', 'Drop cached responses through a running proxy\'s admin API')
    .option('--admin <url>', 'Admin API address, e.g. http://127.0.0.1:9000 (or SWITCHYARD_ADMIN)')
    .option('--tag <tag>', 'Every response tagged so (Cache-Tag / Surrogate-Key / route tags)')
    .option('--prefix <prefix>', 'A path prefix (/a, any host), a URL prefix (http://host/a) or a key prefix')
    .option('--url <url>', 'One URL (its default cache key)')
    .option('--key <key>', 'One cache key, as a route\'s key function made it')
    .option('--token <token>', 'Bearer token (or SWITCHYARD_ADMIN_TOKEN)')
    .action((o: PurgeOptions) => (result = import('./purge.js').then((m) => m.runPurge(o))))
  cli.command('').action(() => {
    cli.outputHelp()
  })
  cli.help()
  cli.version(pkg.version)
  try {
    cli.parse(argv, { run: false })
    if (cli.options.help || cli.options.version) return 0
    const port = cli.options.port as unknown
    if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)) {
      throw new Error(`--port: expected a port number from 0 to 65535, got '${String(port)}'`)
    }
    await cli.runMatchedCommand()
    return await result
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`)
    return 1
  }
}

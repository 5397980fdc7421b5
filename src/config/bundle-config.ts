/**
 * Bundles the config and its local imports with one long-lived esbuild context (a rebuild
 * takes a few ms). Output is CJS so it can be loaded without leaking (see load-config.ts);
 * packages stay external and are required from the config's folder. The metafile's inputs
 * are the files to watch.
 */
import type * as Esbuild from 'esbuild'
import { createRequire } from 'node:module'
import { dirname, resolve, basename } from 'node:path'
import { ConfigError, displayPath } from './config-error.js'

export interface ConfigBundle {
  code: string
  /** Absolute paths of every local file the config imported, itself included. */
  inputs: string[]
}

/**
 * esbuild, loaded on first use with require: importing its CommonJS entry as ESM costs 10–20 ms
 * more (Node parses it for named exports), and a worker booting from a bundle never needs it.
 */
let esbuildModule: typeof Esbuild | undefined
function esbuild(): typeof Esbuild {
  return (esbuildModule ??= createRequire(import.meta.url)('esbuild') as typeof Esbuild)
}

/** Live bundler contexts in this process: esbuild's service process may stop when none is left. */
let liveContexts = 0

export class ConfigBundler {
  #context: Promise<Esbuild.BuildContext<{ metafile: true; write: false }>> | undefined

  constructor(readonly file: string) {}

  async build(): Promise<ConfigBundle> {
    const dir = dirname(this.file)
    if (!this.#context) liveContexts++
    this.#context ??= esbuild().context({
      entryPoints: [this.file],
      absWorkingDir: dir,
      outfile: resolve(dir, `${basename(this.file)}.bundle.cjs`),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      sourcesContent: false,
      metafile: true,
      write: false,
      logLevel: 'silent',
      // CJS has no import.meta: give configs the values they expect (of the config file itself).
      banner: { js: 'var __sy_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
      define: {
        'import.meta.url': '__sy_import_meta_url',
        'import.meta.dirname': '__dirname',
        'import.meta.filename': '__filename',
      },
    })
    const ctx = await this.#context
    let result: Esbuild.BuildResult<{ metafile: true; write: false }>
    try {
      result = await ctx.rebuild()
    } catch (err) {
      throw fromBuildFailure(err, this.file)
    }
    const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(dir, p))
    return { code: result.outputFiles[0]!.text, inputs }
  }

  /**
   * Frees the build context. With `stopService`, also ends esbuild's service process when no
   * other bundler uses it (saves ~12 MiB and a process under `switchyard start`, which rebuilds
   * only on SIGHUP; the next build starts the service again).
   */
  async dispose(stopService = false): Promise<void> {
    const pending = this.#context
    if (!pending) return
    this.#context = undefined
    liveContexts--
    await (await pending.catch(() => undefined))?.dispose()
    if (stopService && liveContexts === 0) await esbuild().stop()
  }
}

function fromBuildFailure(err: unknown, file: string): Error {
  const errors = (err as Esbuild.BuildFailure).errors
  if (!Array.isArray(errors) || errors.length === 0) return err as Error
  const dir = dirname(file)
  const problems = errors.map((e) => ({
    path: e.location ? `${displayPath(resolve(dir, e.location.file))}:${e.location.line}:${e.location.column + 1}` : displayPath(file),
    message: e.location?.lineText ? `${e.text}\n    ${e.location.lineText.trim()}` : e.text,
  }))
  return new ConfigError(problems)
}

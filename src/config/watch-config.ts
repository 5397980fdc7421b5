/**
 * Watches the config's folder and the folders of every file it imports (a folder, not the
 * file: watching a file path misses atomic saves after the first). Changes are debounced
 * and never overlap: a change during a reload marks the watcher dirty, and after each
 * reload the inputs' mtimes are compared with those taken before it started, catching a
 * second save that chokidar folded into the first event (format-on-save editors).
 */
import { watch, type FSWatcher } from 'chokidar'
import { statSync } from 'node:fs'
import { dirname } from 'node:path'

export interface ConfigWatcherOptions {
  /** Runs one reload; resolves with the files to watch from now on. */
  reload: () => Promise<string[]>
  debounceMs?: number
}

export class ConfigWatcher {
  #files = new Set<string>()
  #dirs = new Set<string>()
  readonly #watcher: FSWatcher
  #timer: NodeJS.Timeout | undefined
  #running = false
  #dirty = false
  #idle: Promise<void> = Promise.resolve()
  #closed = false

  constructor(files: string[], readonly options: ConfigWatcherOptions) {
    this.#watcher = watch([], { ignoreInitial: true, depth: 0, ignored: (p) => p.includes('/node_modules/') })
    this.#watcher.on('all', (_event, path) => {
      if (this.#files.has(path)) this.#changed()
    })
    this.setFiles(files)
  }

  /** Resolves once chokidar has its watches in place. */
  ready(): Promise<void> {
    return new Promise((resolve) => this.#watcher.once('ready', () => resolve()))
  }

  /** Resolves when no reload is running or pending. */
  settled(): Promise<void> {
    return this.#idle
  }

  setFiles(files: string[]): void {
    this.#files = new Set(files)
    const dirs = new Set(files.map((f) => dirname(f)))
    for (const dir of this.#dirs) if (!dirs.has(dir)) this.#watcher.unwatch(dir)
    for (const dir of dirs) if (!this.#dirs.has(dir)) this.#watcher.add(dir)
    this.#dirs = dirs
  }

  #changed(): void {
    this.#dirty = true
    if (this.#running || this.#closed) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#run(), this.options.debounceMs ?? 15)
  }

  async #run(): Promise<void> {
    if (this.#running || this.#closed) return
    this.#running = true
    let finish!: () => void
    this.#idle = new Promise((r) => (finish = r))
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false
        const before = snapshot(this.#files)
        try {
          this.setFiles(await this.options.reload())
        } catch {
          // The reload reports its own failure; keep watching the same files.
        }
        if (snapshot(this.#files) !== before) this.#dirty = true
      }
    } finally {
      this.#running = false
      finish()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#watcher.close()
  }
}

function snapshot(files: Set<string>): string {
  let out = ''
  for (const file of files) {
    try {
      const s = statSync(file)
      out += `${file}:${s.mtimeMs}:${s.size};`
    } catch {
      out += `${file}:missing;`
    }
  }
  return out
}

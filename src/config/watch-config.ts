/**
 * Watches the config's folder and the folders of every file it imports (a folder, not the
 * file: watching a file path misses atomic saves after the first). Changes are debounced
 * and never overlap. chokidar drops a second `change` for the same path within 50 ms of the
 * first (format-on-save editors write twice), so the watcher does not trust events alone:
 * it fingerprints the inputs' contents before each build, compares again after the build
 * and once more after chokidar's throttle window, and rebuilds if anything differs. File
 * contents, not mtimes: mtime is only jiffy-precise on Linux. A slow unref'd check (every 2 s
 * by default) compares the fingerprint too, for a save whose event never came at all (once in
 * 100 edits during a benchmark run; a few KB read and hashed each time).
 */
import { watch, type FSWatcher } from 'chokidar'
import { fingerprint } from './fingerprint.js'
import { dirname } from 'node:path'

/** Longer than chokidar's 50 ms change throttle. */
const VERIFY_AFTER_MS = 80
const POLL_MS = 2000

export interface ConfigWatcherOptions {
  /** Runs one reload; resolves with the files to watch from now on. */
  reload: () => Promise<string[]>
  debounceMs?: number
  /** How often to compare the inputs' fingerprint without an event (ms; 0: never). Default 2000. */
  pollMs?: number
  /**
   * The inputs' fingerprint taken when the first build finished (fingerprint.ts). Default: taken
   * now — a save between that build and this watcher would then never be reloaded.
   */
  built?: string
}

export class ConfigWatcher {
  #files = new Set<string>()
  #dirs = new Set<string>()
  readonly #watcher: FSWatcher
  #timer: NodeJS.Timeout | undefined
  #verifyTimer: NodeJS.Timeout | undefined
  readonly #pollTimer: NodeJS.Timeout | undefined
  /** Fingerprint of the inputs as the last build read them. */
  #built: string
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
    this.#built = options.built ?? fingerprint(this.#files)
    const pollMs = options.pollMs ?? POLL_MS
    if (pollMs > 0) {
      this.#pollTimer = setInterval(() => this.#verify(), pollMs)
      this.#pollTimer.unref()
    }
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
    if (this.#closed) return
    clearTimeout(this.#verifyTimer)
    this.#verifyTimer = setTimeout(() => this.#verify(), VERIFY_AFTER_MS)
    if (this.#running) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#run(), this.options.debounceMs ?? 5)
  }

  /** Catches a save whose event chokidar swallowed. */
  #verify(): void {
    if (this.#running || this.#closed) return
    const now = fingerprint(this.#files)
    if (now === this.#built) return
    this.#dirty = true
    void this.#run(now)
  }

  /** `current`: the inputs' fingerprint if the caller just took it (the build starts now, synchronously). */
  async #run(current?: string): Promise<void> {
    if (this.#running || this.#closed) return
    this.#running = true
    let finish!: () => void
    this.#idle = new Promise((r) => (finish = r))
    try {
      while (this.#dirty && !this.#closed) {
        this.#dirty = false
        const files = this.#files
        const before = current ?? fingerprint(files)
        current = undefined
        try {
          this.setFiles(await this.options.reload())
        } catch {
          // The reload reports its own failure; keep watching the same files.
        }
        // A file the build read changed while it ran: build again. (Compared over the same
        // files: a save that adds an import changes the set, not what was built.)
        if (fingerprint(files) !== before) this.#dirty = true
        this.#built = sameFiles(files, this.#files) ? before : fingerprint(this.#files)
      }
    } finally {
      this.#running = false
      finish()
    }
  }

  /** Stops watching; resolves once a reload already running has finished (no other starts). */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    clearTimeout(this.#verifyTimer)
    clearInterval(this.#pollTimer)
    await this.#watcher.close()
    // The owner closes what the reload loads into next (server.close: the runtime): a reload
    // finishing after that would open listeners nobody closes.
    await this.#idle
  }
}

function sameFiles(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false
  for (const file of a) if (!b.has(file)) return false
  return true
}

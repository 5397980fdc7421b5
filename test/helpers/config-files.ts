/** Temp config folders and a logger whose lines can be awaited, for reload tests. */
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventEmitter } from 'node:events'
import type { Logger } from '../../src/log/logger.js'

export interface TempDir {
  dir: string
  path(name: string): string
  write(name: string, text: string): string
  /** Editor-style atomic save: write a temp file, rename over the target. */
  writeAtomic(name: string, text: string): string
  remove(): void
}

export function tempDir(prefix = 'switchyard-test-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    path: (name) => join(dir, name),
    write(name, text) {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    },
    writeAtomic(name, text) {
      const tmp = join(dir, `.${name}.${process.hrtime.bigint()}.tmp`)
      writeFileSync(tmp, text)
      renameSync(tmp, join(dir, name))
      return join(dir, name)
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export interface WatchableLogger extends Logger {
  lines: Array<{ level: string; message: string }>
  /** Resolves with the first line (from now on, or already logged after `since`) matching `pattern`. */
  waitFor(pattern: RegExp, since?: number): Promise<string>
}

export function watchableLogger(): WatchableLogger {
  const events = new EventEmitter()
  const lines: WatchableLogger['lines'] = []
  const push = (level: string) => (message: string) => {
    lines.push({ level, message })
    events.emit('line', message)
  }
  return {
    format: 'pretty',
    lines,
    info: push('info'),
    warn: push('warn'),
    error: push('error'),
    access() {},
    waitFor(pattern, since) {
      if (since !== undefined) {
        const found = lines.slice(since).find((l) => pattern.test(l.message))
        if (found) return Promise.resolve(found.message)
      }
      return new Promise((resolve) => {
        const listener = (message: string) => {
          if (!pattern.test(message)) return
          events.off('line', listener)
          resolve(message)
        }
        events.on('line', listener)
      })
    },
  }
}

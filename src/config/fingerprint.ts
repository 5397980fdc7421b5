/**
 * A digest of files' paths and contents: what the config watcher compares to tell whether the
 * inputs of the last build changed. Contents, not mtimes: mtime is only jiffy-precise on Linux.
 */
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'

export function fingerprint(files: Iterable<string>): string {
  const hash = createHash('sha1')
  for (const file of files) {
    hash.update(file)
    try {
      hash.update(readFileSync(file))
    } catch {
      hash.update('\0missing')
    }
  }
  return hash.digest('base64')
}

/** A config that could not be compiled, loaded or validated. The message names file:line where known. */
import { relative, isAbsolute } from 'node:path'

/** A path as people want to read it: relative when inside the working directory, else absolute. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

export interface ConfigProblem { path: string; message: string; needle?: string }

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[], readonly file?: string, readonly lines: Array<number | undefined> = []) {
    super(formatProblems(problems, file, lines))
    this.name = 'ConfigError'
  }

  /** The same problems, with each located at a line of `source` where the offending value appears. */
  locate(source: string): ConfigError {
    const lines = this.problems.map((problem) => findLine(source, problem.needle))
    return new ConfigError(this.problems, this.file, lines)
  }
}

function formatProblems(problems: ConfigProblem[], file: string | undefined, lines: Array<number | undefined>): string {
  const where = (i: number) => (file ? `${file}${lines[i] ? `:${lines[i]}` : ''}: ` : '')
  const items = problems.map((pr, i) => `${where(i)}${pr.path}: ${pr.message}`)
  return items.length === 1 ? items[0]! : `${items.length} problems in the config:\n  ${items.join('\n  ')}`
}

/** Line (1-based) of the first quoted occurrence of `needle`, else its first bare occurrence. */
function findLine(source: string, needle: string | undefined): number | undefined {
  if (!needle) return undefined
  let at = -1
  for (const q of ["'", '"', '`']) {
    const i = source.indexOf(q + needle + q)
    if (i >= 0 && (at < 0 || i < at)) at = i
  }
  if (at < 0) {
    const bare = new RegExp(`\\b${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).exec(source)
    at = bare ? bare.index : -1
  }
  return at < 0 ? undefined : source.slice(0, at).split('\n').length
}

/**
 * Pretty (for people, under `dev`) and JSON (one object per line, for machines) logs.
 *
 * Fields come from users (ctx.log, ctx.annotate) and often carry request data, so a line can
 * neither break nor lie: writing never throws (BigInt, cycles, throwing toJSON/getters — see
 * `toJson`); in JSON the line's own keys (`time`, `level`, `msg`, an access record's fields) are
 * written last so a field of the same name cannot replace them; in pretty lines keys and values
 * that could pass for another field or another line are quoted like logfmt (`quoteField`), and
 * a message's own line breaks are indented so a continuation never starts like a record.
 */
import type { AccessRecord, RuntimeLog } from '../../runtime/log.js'

export type LogFormat = 'pretty' | 'json'
type Level = 'info' | 'warn' | 'error'

export interface Logger extends RuntimeLog {
  format: LogFormat
}

export interface LoggerOptions {
  format?: LogFormat
  /** Where lines go; default process.stdout / process.stderr for warnings and errors. */
  write?: (line: string, level: Level) => void
  color?: boolean
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string, level: Level) => (level === 'info' ? process.stdout : process.stderr).write(`${line}\n`))
  const color = options.color ?? (process.stdout.isTTY === true && !process.env.NO_COLOR)
  const paint = (code: number, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
  const logger: Logger = {
    format: options.format ?? 'pretty',
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    access(r: AccessRecord) {
      guarded('info', () => access(r))
    },
  }
  function access(r: AccessRecord): void {
    if (logger.format === 'json') {
      // Annotations (ctx.annotate) are top-level fields, as Caddy's log_append does; the
      // record's own fields, then time/level/msg, are written after them and win a clash.
      const { annotations, ...core } = r
      const line: Record<string, unknown> = { time: '', level: 'info', msg: 'access', ...annotations, ...core }
      Object.assign(line, { time: new Date().toISOString(), level: 'info', msg: 'access', durationMs: round(r.durationMs) })
      write(jsonLine(line), 'info')
      return
    }
    const status = r.status === 0 ? '---' : String(r.status)
    const tint = r.status >= 500 || r.status === 0 ? 31 : r.status >= 400 ? 33 : 32
    const where = r.upstream ? ` → ${r.upstream}` : r.route ? ` (${r.route})` : ''
    // An error text may quote the request (a hook's message): kept on one line.
    const err = r.error ? paint(31, `  ${oneLine(r.error)}`) : ''
    const notes = r.annotations ? formatFields(r.annotations) : ''
    write(`${time()} ${r.method} ${r.target} ${paint(tint, status)}${where} ${round(r.durationMs)}ms${notes}${err}`, 'info')
  }
  function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
    guarded(level, () => line(level, msg, fields))
  }
  function line(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (logger.format === 'json') {
      const line: Record<string, unknown> = { time: '', level, msg, ...fields }
      Object.assign(line, { time: new Date().toISOString(), level, msg: String(msg) })
      write(jsonLine(line), level)
      return
    }
    const tag = level === 'info' ? '' : paint(level === 'error' ? 31 : 33, `${level} `)
    write(`${time()} ${tag}${indentLines(String(msg))}${fields ? formatFields(fields) : ''}`, level)
  }
  /** Logging never throws into its caller (a response's 'close', a hook): a failed line is reported in a line of its own. */
  function guarded(level: Level, run: () => void): void {
    try {
      run()
    } catch (err) {
      try {
        const reason = oneLine(String((err as Error)?.message ?? err))
        write(logger.format === 'json'
          ? toJson({ time: new Date().toISOString(), level: 'error', msg: `a ${level} log line could not be written: ${reason}` })
          : `${time()} error a ${level} log line could not be written: ${reason}`, 'error')
      } catch {
        // the writer itself fails: nothing left to report with
      }
    }
  }
  return logger
}

/**
 * JSON text for any value, never throwing: BigInt as its decimal string, an object met again
 * inside itself as '[Circular]', an Error as 'Name: message'; what still cannot be encoded (a
 * throwing toJSON or getter) becomes its String(), or '[unserializable]'.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value, jsonReplacer()) ?? 'null'
  } catch {
    try {
      return JSON.stringify(String(value))
    } catch {
      return '"[unserializable]"'
    }
  }
}

/** A log object as one JSON line; if a field cannot be encoded, only that field falls back (see toJson). */
function jsonLine(fields: Record<string, unknown>): string {
  try {
    return JSON.stringify(fields, jsonReplacer())
  } catch {
    return `{${Object.keys(fields).filter((k) => fields[k] !== undefined).map((k) => `${JSON.stringify(k)}:${toJson(fields[k])}`).join(',')}}`
  }
}

function jsonReplacer(): (this: unknown, key: string, value: unknown) => unknown {
  // The objects on the path from the root to the value being written (a value seen twice in
  // different branches is not a cycle).
  const path: unknown[] = []
  return function (this: unknown, _key: string, value: unknown): unknown {
    if (typeof value === 'bigint') return value.toString()
    if (typeof value !== 'object' || value === null) return value
    while (path.length > 0 && path[path.length - 1] !== this) path.pop()
    if (path.includes(value)) return '[Circular]'
    if (value instanceof Error) return `${value.name}: ${value.message}`
    path.push(value)
    return value
  }
}

/** ` k=v k2=v2` for the pretty format (undefined values left out; non-strings as JSON). */
function formatFields(fields: Readonly<Record<string, unknown>>): string {
  let out = ''
  for (const key of Object.keys(fields)) {
    let v: unknown
    try {
      v = fields[key]
    } catch {
      v = '[unreadable]' // a throwing getter
    }
    if (v === undefined) continue
    const text = typeof v === 'string' ? v : typeof v === 'bigint' ? v.toString() : toJson(v)
    out += ` ${quoteField(key)}=${typeof v === 'string' ? quoteField(text) : typeof v === 'object' ? quoteJson(text) : text}`
  }
  return out
}

/** An object or array as JSON stays bare (its braces delimit it) unless it holds whitespace or `=`. */
function quoteJson(json: string): string {
  return /[\s=\x7f-\x9f\u2028\u2029]/.test(json) ? escapeRest(JSON.stringify(json)) : json
}

/**
 * Like logfmt: text with whitespace, `=`, `"`, control characters (C0, DEL, C1) or Unicode line
 * separators — or empty — is written as a JSON string, so one field cannot pass for several,
 * nor a value for a new line.
 */
const NEEDS_QUOTES = /[\s="\x00-\x1f\x7f-\x9f\u2028\u2029]/
export function quoteField(text: string): string {
  return text === '' || NEEDS_QUOTES.test(text) ? escapeRest(JSON.stringify(text)) : text
}

/** JSON.stringify leaves DEL, C1 controls and U+2028/9 as they are. */
function escapeRest(json: string): string {
  return json.replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** A free text on one line: control characters and line separators escaped. */
function oneLine(text: string): string {
  return /[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(text) ? escapeRest(JSON.stringify(text).slice(1, -1)) : text
}

/**
 * A message over several lines (a stack trace) stays readable, but each continuation is indented
 * so it cannot look like a record of its own; other control characters are escaped.
 */
function indentLines(text: string): string {
  if (!/[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(text)) return text
  return text.split(/\r?\n|[\r\u2028\u2029]/).map((line) => oneLine(line.replace(/\t/g, '  '))).join('\n    ')
}

function time(): string {
  return new Date().toISOString().slice(11, 23)
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

/** Pretty (for people, under `dev`) and JSON (one object per line, for machines) logs. */
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
      if (logger.format === 'json') {
        write(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'access', ...r, durationMs: round(r.durationMs) }), 'info')
        return
      }
      const status = r.status === 0 ? '---' : String(r.status)
      const tint = r.status >= 500 || r.status === 0 ? 31 : r.status >= 400 ? 33 : 32
      const where = r.upstream ? ` → ${r.upstream}` : r.route ? ` (${r.route})` : ''
      const err = r.error ? paint(31, `  ${r.error}`) : ''
      write(`${time()} ${r.method} ${r.target} ${paint(tint, status)}${where} ${round(r.durationMs)}ms${err}`, 'info')
    },
  }
  function emit(level: Level, msg: string, fields?: Record<string, unknown>): void {
    if (logger.format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }), level)
      return
    }
    const tag = level === 'info' ? '' : paint(level === 'error' ? 31 : 33, `${level} `)
    const extra = fields && Object.keys(fields).length
      ? ` ${Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}`
      : ''
    write(`${time()} ${tag}${msg}${extra}`, level)
  }
  return logger
}

function time(): string {
  return new Date().toISOString().slice(11, 23)
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

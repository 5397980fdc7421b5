/** Runs the built CLI (dist/) as a child process, as users do. */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url))

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`)
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], cwd: string): Promise<CliResult> {
  assertBuilt()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c))
    child.stderr.on('data', (c: Buffer) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A long-running CLI process whose output lines can be awaited. */
export class CliProcess {
  readonly child: ChildProcess
  output = ''
  readonly #waiters: Array<{ pattern: RegExp; from: number; resolve: (m: RegExpMatchArray) => void }> = []
  readonly exited: Promise<number | null>

  constructor(args: string[], cwd: string) {
    assertBuilt()
    this.child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    const onData = (c: Buffer) => {
      this.output += c.toString()
      for (const w of [...this.#waiters]) {
        const m = this.output.slice(w.from).match(w.pattern)
        if (m) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1)
          w.resolve(m)
        }
      }
    }
    this.child.stdout!.on('data', onData)
    this.child.stderr!.on('data', onData)
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  /** Resolves with the first match of `pattern` in output after offset `from` (default: all output). */
  waitFor(pattern: RegExp, from = 0): Promise<RegExpMatchArray> {
    const m = this.output.slice(from).match(pattern)
    if (m) return Promise.resolve(m)
    return new Promise((resolve) => this.#waiters.push({ pattern, from, resolve }))
  }

  /** Stops the process (by its PID) if it is still running. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
  }
}

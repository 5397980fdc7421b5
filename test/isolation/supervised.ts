/** Helpers for the isolation tests: a supervised CLI process and its workers. */
import { CliProcess } from '../helpers/cli.js'
import { http } from '../helpers/servers.js'

/** Starts the CLI; on cleanup, stops it the graceful way first so it reaps its workers. */
export function startCli(t: { after(fn: () => Promise<void> | void): void }, args: string[], cwd: string): CliProcess {
  const proc = new CliProcess(args, cwd)
  t.after(async () => {
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGTERM')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([proc.exited, new Promise((r) => (timer = setTimeout(r, 15_000)))])
      clearTimeout(timer)
    }
    await proc.stop()
  })
  return proc
}

/** The URL of the first listener the process logs. */
export async function listening(proc: CliProcess, from = 0): Promise<{ url: string; pid: number; worker: number }> {
  const [, port, pid, worker] = await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+) pid=(\d+)(?: worker=(\d+))?/, from)
  return { url: `http://127.0.0.1:${port}`, pid: Number(pid), worker: Number(worker ?? 0) }
}

/** GET that resolves with status and body text, or with the error (a request that failed). */
export async function get(url: string): Promise<{ status: number; body: string } | Error> {
  try {
    const res = await http(url)
    return { status: res.status, body: res.body.toString() }
  } catch (err) {
    return err as Error
  }
}

/** Milliseconds since `start` (performance.now()), one decimal. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10
}

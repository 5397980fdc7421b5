// Starts a throwaway redis-server owned by the test (no --daemonize: we hold its PID).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

export interface RedisProcess {
  port: number
  stop(): Promise<void>
  /** SIGSTOP / SIGCONT: a server that accepts bytes but never answers. */
  freeze(): void
  thaw(): void
}

const MISSING =
  'redis-server is not installed: the Redis cache store tests need it, and .ci/run must install it ' +
  '(apt-get update && apt-get install -y redis-server)'

export function assertRedisInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' })
  if (probe.error || probe.status !== 0) throw new Error(MISSING)
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Spawns redis-server on `port` and resolves once it logs that it accepts connections. */
export async function startRedis(port?: number): Promise<RedisProcess> {
  assertRedisInstalled()
  const p = port ?? (await freePort())
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 5000)
    const onData = (d: Buffer): void => {
      output += d.toString()
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`redis-server exited (${code}):\n${output}`))
    })
  })
  child.stdout!.resume()
  child.stderr!.resume()
  return {
    port: p,
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  }
}

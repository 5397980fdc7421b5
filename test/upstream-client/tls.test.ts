/**
 * https:// origins (tls.connect, the same parser), and the connect timeout.
 *
 * A plain TCP connect timeout has no reliable local trigger (a listening socket with a full
 * backlog still completes the handshake on Linux; non-routable addresses fail at once without a
 * route). A TLS server that accepts the TCP connection and never answers the handshake does
 * trigger it: for https:// origins the connect phase lasts until the TLS handshake is done.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { UpstreamPool } from '../../runtime/upstream-client/pool.js'
import { classifyUpstreamError } from '../../runtime/forward/upstream-error.js'
import { outcomeKind } from '../../runtime/forward/retry-rules.js'
import { send, failure } from './helpers.js'

const T = { timeout: 10_000 }

/** A self-signed certificate for 127.0.0.1 (undefined when openssl is not installed). */
function selfSigned(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'sy-tls-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' })
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } catch {
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const creds = selfSigned()

test('https:// origin: verified against the given CA, keep-alive reused; an unknown CA fails', { ...T, skip: creds === undefined ? 'openssl not installed' : false }, async (t) => {
  let connections = 0
  const server = createHttpsServer({ ...creds! }, (req, res) => res.end(`tls ${req.url}`))
  server.on('secureConnection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    server.closeAllConnections()
    server.close(() => r())
  }))
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const pool = new UpstreamPool(origin, { tls: { ca: creds!.cert } })
  t.after(() => pool.destroy())
  assert.equal((await send(pool, { path: '/a' })).body.toString(), 'tls /a')
  assert.equal((await send(pool, { path: '/b' })).body.toString(), 'tls /b')
  assert.equal(connections, 1)

  const untrusted = new UpstreamPool(origin)
  t.after(() => untrusted.destroy())
  const err = await failure(send(untrusted))
  assert.match(err.code, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/)
  assert.match(classifyUpstreamError(err).reason, /^upstream error: /)
})

test('connect timeout: a server that accepts TCP and never completes the TLS handshake → SWITCHYARD_CONNECT_TIMEOUT', T, async (t) => {
  const sockets = new Set<Socket>()
  const silent = createNetServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
  })
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
  t.after(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy()
    silent.close(() => r())
  }))
  const pool = new UpstreamPool(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`, { connectTimeout: 60, headersTimeout: 10_000 })
  t.after(() => pool.destroy())
  const err = await failure(send(pool))
  assert.equal(err.code, 'SWITCHYARD_CONNECT_TIMEOUT')
  assert.deepEqual(classifyUpstreamError(err), { status: 504, reason: 'upstream connect timeout' })
  assert.equal(outcomeKind(err), 'connect-error')
})

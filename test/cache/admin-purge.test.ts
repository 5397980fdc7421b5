// Purging through the admin API and `switchyard purge`; LRU eviction by bytes through the proxy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { http } from '../helpers/servers.js'
import { runCli } from '../helpers/cli.js'
import { runPurge } from '../../src/cli/purge.js'
import { cachedRoute, clock, countingBackend } from './cache-proxy.js'

function tagged(c: ReturnType<typeof clock>) {
  return countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    if (req.url!.startsWith('/a/')) res.setHeader('cache-tag', 'alpha, shared')
    if (req.url!.startsWith('/b/')) res.setHeader('surrogate-key', 'beta shared')
    res.end(`body ${req.url}`)
  })
}

const status = async (url: string): Promise<string> => (await http(url)).headers['cache-status'] as string

test('admin API: health, purge by tag (header and route tags), prefix, url, key; token enforced', async (t) => {
  const c = clock()
  const backend = await tagged(c)
  const proxy = await cachedRoute(t, backend, c, { tags: ['site'] }, { admin: { listen: { port: 0 }, token: 'sekret' } })
  const admin = `http://127.0.0.1:${proxy.runtime.admin.address()!.port}`
  const auth = { authorization: 'Bearer sekret', 'content-type': 'application/json' }
  const purge = async (body: unknown) => http(`${admin}/cache/purge`, { method: 'POST', headers: auth, body: JSON.stringify(body) })
  const paths = ['/a/1', '/a/2', '/b/1', '/c/1', '/c/2?q=1']
  const fill = async () => {
    for (const p of paths) await http(proxy.url + p)
  }
  await fill()

  assert.equal((await http(`${admin}/health`)).status, 401)
  const health = await http(`${admin}/health`, { headers: auth })
  assert.deepEqual(JSON.parse(health.body.toString()), { status: 'ok', stores: [{ id: `memory|${256 * 1024 * 1024}`, healthy: true }] })

  assert.deepEqual(JSON.parse((await purge({ tag: 'alpha' })).body.toString()), { purged: 2 })
  assert.match(await status(proxy.url + '/a/1'), /uri-miss/)
  assert.match(await status(proxy.url + '/b/1'), /hit/)
  assert.deepEqual(JSON.parse((await purge({ tag: 'beta' })).body.toString()), { purged: 1 })
  assert.deepEqual(JSON.parse((await purge({ prefix: '/c/' })).body.toString()), { purged: 2 })
  assert.match(await status(proxy.url + '/c/2?q=1'), /uri-miss/)
  assert.deepEqual(JSON.parse((await purge({ url: `${proxy.url}/c/2?q=1` })).body.toString()), { purged: 1 })
  assert.deepEqual(JSON.parse((await purge({ key: `GET http://127.0.0.1:${proxy.port}/a/1` })).body.toString()), { purged: 1 })
  await http(proxy.url + '/a/2')
  assert.deepEqual(JSON.parse((await purge({ prefix: `http://127.0.0.1:${proxy.port}/` })).body.toString()), { purged: 1 })
  assert.match(await status(proxy.url + '/a/2'), /uri-miss/)
  await fill()
  assert.deepEqual(JSON.parse((await purge({ tag: 'site' })).body.toString()), { purged: 5 })

  const bad = await purge({ tag: 'x', prefix: '/y' })
  assert.equal(bad.status, 400)
  assert.match(JSON.parse(bad.body.toString()).error, /exactly one/)
})

test('switchyard purge --tag / --prefix / --url talks to the admin API', async (t) => {
  const c = clock()
  const backend = await tagged(c)
  const proxy = await cachedRoute(t, backend, c, true, { admin: { listen: 0 } })
  const admin = `http://127.0.0.1:${proxy.runtime.admin.address()!.port}`
  for (const p of ['/a/1', '/b/1', '/c/1', '/c/2']) await http(proxy.url + p)
  const lines: string[] = []
  const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(`ERR ${l}`) }
  assert.equal(await runPurge({ admin, tag: 'shared' }, io), 0)
  assert.equal(await runPurge({ admin, prefix: '/c' }, io), 0)
  assert.equal(await runPurge({ admin, url: `${proxy.url}/nothing` }, io), 0)
  assert.equal(await runPurge({ admin }, io), 1)
  assert.deepEqual(lines, [
    'purged 2 cached responses (tag shared)',
    'purged 2 cached responses (prefix /c)',
    'purged 0 cached responses (url ' + `${proxy.url}/nothing)`,
    'ERR give exactly one of --tag <tag>, --prefix </path or URL prefix>, --url <url>, --key <cache key>',
  ])
  // Through the built command line, as users run it.
  await http(proxy.url + '/a/1')
  const cli = await runCli(['purge', '--admin', admin, '--tag', 'alpha'], process.cwd())
  assert.equal(cli.stderr, '')
  assert.equal(cli.stdout, 'purged 1 cached response (tag alpha)\n')
  assert.equal(cli.code, 0)
  assert.match(await status(proxy.url + '/a/1'), /uri-miss/)
})

test('the memory store evicts least recently used entries by bytes', async (t) => {
  const c = clock()
  const backend = await countingBackend(c, (req, res) => {
    res.setHeader('cache-control', 'max-age=600')
    res.end(Buffer.alloc(20 * 1024, req.url!.length))
  })
  // 64 KiB holds three 20 KiB entries (plus per-entry overhead), not four.
  const proxy = await cachedRoute(t, backend, c, true, { cache: { maxSize: '64kb', maxObjectSize: '32kb' } })
  for (const p of ['/1', '/2', '/3']) await http(proxy.url + p)
  assert.match(await status(proxy.url + '/1'), /hit/) // /1 is now the most recently used
  await http(proxy.url + '/4') // evicts /2
  assert.match(await status(proxy.url + '/1'), /hit/)
  assert.match(await status(proxy.url + '/3'), /hit/)
  assert.match(await status(proxy.url + '/4'), /hit/)
  assert.match(await status(proxy.url + '/2'), /uri-miss/)
})

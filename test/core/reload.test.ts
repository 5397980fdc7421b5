import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'undici'
import { SwitchyardServer } from '../../src/server/switchyard-server.js'
import { tempDir, watchableLogger, type TempDir } from '../helpers/config-files.js'
import { echoBackend, startBackend, http } from '../helpers/servers.js'

async function startWatching(t: { after: (fn: () => unknown) => void }, dir: TempDir, file = 'proxy.config.ts') {
  const log = watchableLogger()
  const server = await SwitchyardServer.start({
    configFile: dir.path(file), mode: 'dev', watch: true, log, override: { port: 0, host: '127.0.0.1' },
  })
  t.after(() => server.close(1000))
  return { server, log, url: `http://127.0.0.1:${server.addresses[0]!.port}` }
}

const respondConfig = (body: string) => `import { defineConfig } from 'switchyard'
export default defineConfig({
  routes: [{ match: { path: '/*' }, respond: { body: ${JSON.stringify(body)} } }],
})
`

test('a broken config is reported with file:line and the old one keeps serving', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', respondConfig('v1'))
  const { log, url } = await startWatching(t, dir)
  assert.equal((await http(url)).body.toString(), 'v1')

  let mark = log.lines.length
  dir.write('proxy.config.ts', `import { defineConfig } from 'switchyard'\nexport default defineConfig({\n  routes: [{ respond: { body: 'x' } ]\n})\n`)
  let error = await log.waitFor(/reload failed/, mark)
  assert.match(error, /proxy\.config\.ts:3:\d+: Expected "}" but found "]"/)
  assert.equal((await http(url)).body.toString(), 'v1')

  mark = log.lines.length
  dir.write('proxy.config.ts', `export default {\n  upstreams: { api: { servers: ['http://127.0.0.1:1'] } },\n  routes: [\n    { to: 'api2' },\n  ],\n}\n`)
  error = await log.waitFor(/reload failed/, mark)
  assert.match(error, /proxy\.config\.ts:4: routes\[0\]\.to: unknown upstream 'api2' \(known: api\)/)
  assert.equal((await http(url)).body.toString(), 'v1')

  mark = log.lines.length
  dir.write('proxy.config.ts', `const port = Number('x')\nif (Number.isNaN(port)) {\n  throw new Error('PORT is not set')\n}\nexport default { routes: [] }\n`)
  error = await log.waitFor(/reload failed/, mark)
  assert.match(error, /PORT is not set/)
  assert.match(error, /proxy\.config\.ts:3:\d+/)
  assert.equal((await http(url)).body.toString(), 'v1')

  mark = log.lines.length
  dir.write('proxy.config.ts', respondConfig('v2'))
  await log.waitFor(/reloaded/, mark)
  assert.equal((await http(url)).body.toString(), 'v2')
})

test('atomic saves (temp file + rename) are picked up every time; a plain object export works', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.writeAtomic('proxy.config.ts', respondConfig('v0'))
  const { log, url } = await startWatching(t, dir)
  for (let v = 1; v <= 3; v++) {
    const mark = log.lines.length
    dir.writeAtomic('proxy.config.ts', `export default { routes: [{ respond: { body: 'v${v}' } }] }\n`)
    await log.waitFor(/reloaded/, mark)
    assert.equal((await http(url)).body.toString(), `v${v}`)
  }
})

test('two saves milliseconds apart end with the second one serving', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', respondConfig('v1'))
  const { server, url } = await startWatching(t, dir)
  for (let round = 0; round < 5; round++) {
    dir.write('proxy.config.ts', respondConfig(`first-${round}`))
    dir.write('proxy.config.ts', respondConfig(`second-${round}`))
    // Wait until the proxy serves the second save (each reload settles within ms).
    let body = ''
    for (let i = 0; i < 400 && body !== `second-${round}`; i++) {
      await server.settled()
      body = (await http(url)).body.toString()
      if (body !== `second-${round}`) await new Promise((r) => setTimeout(r, 5))
    }
    assert.equal(body, `second-${round}`)
  }
})

test('a change to an imported file reloads; a function config gets { mode }', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('routes.ts', `export const greeting: string = 'hello'\n`)
  dir.write('proxy.config.ts', `import { defineConfig } from 'switchyard'
import { greeting } from './routes.js'
export default defineConfig(async ({ mode }) => ({ routes: [{ respond: { body: greeting + ' ' + mode } }] }))
`)
  const { log, url } = await startWatching(t, dir)
  assert.equal((await http(url)).body.toString(), 'hello dev')
  const mark = log.lines.length
  dir.write('routes.ts', `export const greeting: string = 'bonjour'\n`)
  await log.waitFor(/reloaded/, mark)
  assert.equal((await http(url)).body.toString(), 'bonjour dev')
})

test('close() while a watch-triggered reload runs: the reload finishes first, and nothing listens afterwards', async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  dir.write('proxy.config.ts', respondConfig('v1'))
  let reloadStarted!: () => void
  const started = new Promise<void>((r) => (reloadStarted = r))
  let reloadEnded!: (type: string) => void
  const ended = new Promise<string>((r) => (reloadEnded = r))
  const server = await SwitchyardServer.start({
    configFile: dir.path('proxy.config.ts'), mode: 'dev', watch: true, log: watchableLogger(), override: { port: 0, host: '127.0.0.1' },
    onConfig: (event) => {
      if (!event.reload) return
      if (event.type === 'loading') reloadStarted()
      else reloadEnded(event.type)
    },
  })
  t.after(() => server.close(1000))
  dir.write('proxy.config.ts', respondConfig('v2'))
  await started // the reload is building the config now
  await server.close(1000)
  // A reload still running after close() would open a listener again once it loads: a port
  // nobody closes, and a test process that never exits.
  assert.equal(await ended, 'loaded')
  assert.deepEqual(server.addresses, [])
})

test('in-flight requests finish on the config they started with; pools of unchanged servers are kept', async (t) => {
  const a = await echoBackend('a')
  const b = await echoBackend('b')
  const c = await echoBackend('c')
  let connectionsToA = 0
  a.server.on('connection', () => connectionsToA++)
  t.after(() => a.close())
  t.after(() => b.close())
  t.after(() => c.close())
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = (version: string, server: string) => `
const g = globalThis as any
export default {
  upstreams: { g: { servers: ['${server}'] }, keep: { servers: ['${a.url}'] } },
  routes: [
    { match: { path: '/hold' }, handle: async (req: Request, ctx: any) => {
      g.__held?.()
      await g.__release
      const res = await ctx.forward('g')
      return new Response('${version} ' + res.headers.get('x-backend'))
    } },
    { match: { path: '/keep' }, to: 'keep' },
    { respond: { body: '${version}' } },
  ],
}
`
  dir.write('proxy.config.ts', config('v1', b.url))
  const { log, url } = await startWatching(t, dir)
  const g = globalThis as { __held?: () => void; __release?: Promise<void> }
  let release!: () => void
  g.__release = new Promise<void>((r) => (release = r))
  const held = new Promise<void>((r) => (g.__held = r))
  t.after(() => { delete g.__held; delete g.__release })

  const keepAgent = new Agent({ connections: 1 })
  t.after(() => keepAgent.close())
  await (await request(`${url}/keep`, { dispatcher: keepAgent })).body.text()
  const pending = http(`${url}/hold`)
  await held
  const mark = log.lines.length
  dir.write('proxy.config.ts', config('v2', c.url))
  await log.waitFor(/reloaded/, mark)
  assert.equal((await http(url)).body.toString(), 'v2')
  release()
  // Started on v1: answered by v1's handler and forwarded to v1's server b, which v2 no
  // longer has (its pool is retired, but kept until v1's last request is done).
  assert.equal((await pending).body.toString(), 'v1 b')
  assert.equal((await http(`${url}/hold`)).status, 200) // a v2 request: released already, goes to c
  await (await request(`${url}/keep`, { dispatcher: keepAgent })).body.text()
  // /keep's server a is in both configs: its pool and warm connection were reused.
  assert.equal(connectionsToA, 1)
})

test('reload under load: 2,000 requests while the config is rewritten 20 times, none fail', async (t) => {
  const backend = await startBackend((_req, res) => res.end('ok'))
  t.after(() => backend.close())
  const dir = tempDir()
  t.after(() => dir.remove())
  const config = (v: number) => `export default {
  upstreams: { b: { servers: ['${backend.url}'] } },
  routes: [{ match: { path: '/*' }, to: 'b', headers: { response: { set: { 'x-version': '${v}' } } } }],
}
`
  dir.write('proxy.config.ts', config(0))
  const { log, url } = await startWatching(t, dir)
  const agent = new Agent({ connections: 16 })
  t.after(() => agent.close())

  let confirmed = 0 // highest version known to be serving (its reload was logged)
  let written = 0
  let done = 0
  const failures: string[] = []
  const writer = (async () => {
    for (let v = 1; v <= 20; v++) {
      const target = done + 80
      while (done < target && done < 1900) await new Promise((r) => setImmediate(r))
      const mark = log.lines.length
      written = v
      dir.write('proxy.config.ts', config(v))
      await log.waitFor(/reloaded/, mark)
      confirmed = v
    }
  })()
  const worker = async () => {
    while (done < 2000) {
      done++
      const minimum = confirmed
      try {
        const res = await request(`${url}/x`, { dispatcher: agent })
        const version = Number(res.headers['x-version'])
        await res.body.text()
        if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`)
        else if (!(version >= minimum && version <= written)) failures.push(`version ${version} outside [${minimum}, ${written}]`)
      } catch (err) {
        failures.push(String(err))
      }
    }
  }
  await Promise.all([writer, ...Array.from({ length: 16 }, worker)])
  assert.deepEqual(failures, [])
  assert.equal(confirmed, 20)
  assert.equal(log.lines.filter((l) => /reload failed/.test(l.message)).length, 0)
})

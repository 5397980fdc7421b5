// A config file that imports 'switchyard/middleware' gets the running copy (bundled, evaluated, served).
import { test } from 'node:test'
import { mkdirSync } from 'node:fs'
import assert from 'node:assert/strict'
import { ConfigLoader } from '../../src/server/config-loader.js'
import { Runtime } from '../../runtime/runtime.js'
import { tempDir } from '../helpers/config-files.js'
import { collectingLog, http } from '../helpers/servers.js'

test("a proxy.config.ts using middleware from 'switchyard/middleware' loads and serves", async (t) => {
  const dir = tempDir()
  t.after(() => dir.remove())
  mkdirSync(dir.path('site'))
  dir.write('site/hello.txt', 'hello from disk')
  const file = dir.write('proxy.config.ts', `import { defineConfig } from 'switchyard'
import { cors, requestId, serveStatic, respond, headers } from 'switchyard/middleware'

export default defineConfig({
  use: [requestId({ generate: () => 'fixed-id' }), cors({ origin: 'https://app.test' })],
  routes: [
    { match: { path: '/*' }, use: [headers({ response: { set: { 'x-site': 'yes' } } }), serveStatic({ root: ${JSON.stringify(dir.path('site'))} }), respond({ status: 404, body: 'nothing here' })], respond: { body: 'unreachable' } },
  ],
})
`)
  const loader = new ConfigLoader(file, 'start', { host: '127.0.0.1', port: 0 })
  t.after(() => loader.dispose(true))
  const { config } = await loader.load()
  const runtime = new Runtime({ log: collectingLog() })
  t.after(() => runtime.close(1000))
  await runtime.load(config)
  const url = `http://127.0.0.1:${runtime.addresses()[0]!.port}`
  const file1 = await http(`${url}/hello.txt`, { headers: { origin: 'https://app.test' } })
  assert.deepEqual([file1.status, file1.body.toString()], [200, 'hello from disk'])
  assert.equal(file1.headers['x-request-id'], 'fixed-id')
  assert.equal(file1.headers['access-control-allow-origin'], 'https://app.test')
  assert.equal(file1.headers['x-site'], 'yes')
  const miss = await http(`${url}/nope`)
  assert.deepEqual([miss.status, miss.body.toString()], [404, 'nothing here'])
})

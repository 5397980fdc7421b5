// The README's promise: the root proxy.config.ts (what `npm start` runs) works as documented.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { SwitchyardServer } from '../../src/server/switchyard-server.js'
import { http } from '../helpers/servers.js'
import { watchableLogger } from '../helpers/config-files.js'

test('the demo config: round robin, weighted api, redirect, respond, handlers', async (t) => {
  const server = await SwitchyardServer.start({
    configFile: fileURLToPath(new URL('../../proxy.config.ts', import.meta.url)),
    mode: 'dev', watch: false, log: watchableLogger(), override: { port: 0, host: '127.0.0.1' },
  })
  t.after(() => server.close(500))
  const url = `http://127.0.0.1:${server.addresses[0]!.port}`
  const backends = new Set<string>()
  for (let i = 0; i < 3; i++) backends.add((JSON.parse((await http(`${url}/`)).body.toString()) as { backend: string }).backend)
  assert.deepEqual([...backends].sort(), ['backend-a', 'backend-b', 'backend-c'])
  const api = await http(`${url}/api/orders`)
  assert.equal(api.headers['x-served-by'], 'switchyard')
  assert.equal((JSON.parse(api.body.toString()) as { url: string }).url, '/orders')
  const old = await http(`${url}/old/page`)
  assert.deepEqual([old.status, old.headers.location], [301, '/new/page'])
  assert.equal((await http(`${url}/health`)).body.toString(), 'ok')
  assert.deepEqual(JSON.parse((await http(`${url}/hello/ada`)).body.toString()), { hello: 'ada', from: '127.0.0.1', mode: 'dev' })
  const user = await http(`${url}/users/7`)
  assert.equal(user.headers['x-user-id'], '7')
})

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Runtime } from '../../runtime/runtime.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { http } from '../helpers/servers.js'

test('several listeners serve the same routes; a reload opens new ones and closes removed ones', async (t) => {
  const runtime = new Runtime()
  t.after(() => runtime.close(200))
  const config = (listen: Array<{ host: string; port: number }>, body: string) =>
    resolveConfig({ listen, routes: [{ respond: { body } }] }, 'start')
  await runtime.load(config([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.2', port: 0 }], 'one'))
  const [a, b] = runtime.addresses()
  assert.equal(runtime.addresses().length, 2)
  assert.equal((await http(`http://127.0.0.1:${a!.port}/`)).body.toString(), 'one')
  assert.equal((await http(`http://127.0.0.2:${b!.port}/`)).body.toString(), 'one')

  await runtime.load(config([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.3', port: 0 }], 'two'))
  const addresses = runtime.addresses()
  assert.deepEqual(addresses.map((x) => x.address).sort(), ['127.0.0.1', '127.0.0.3'])
  assert.equal(addresses.find((x) => x.address === '127.0.0.1')!.port, a!.port) // kept, not re-bound
  assert.equal((await http(`http://127.0.0.1:${a!.port}/`)).body.toString(), 'two')
  const c = addresses.find((x) => x.address === '127.0.0.3')!
  assert.equal((await http(`http://127.0.0.3:${c.port}/`)).body.toString(), 'two')
  await assert.rejects(http(`http://127.0.0.2:${b!.port}/`)) // removed listener is closed
})

test('close() while a load is opening its listener waits for it and closes it; a load after close() is refused', async (t) => {
  const runtime = new Runtime()
  t.after(() => runtime.close(200)) // if an assertion fails first
  const config = resolveConfig({ listen: [{ host: '127.0.0.1', port: 0 }], routes: [{ respond: { body: 'x' } }] }, 'start')
  const loading = runtime.load(config) // listen() is under way
  await runtime.close(200)
  await loading
  assert.deepEqual(runtime.addresses(), [], 'no listener left open by the load close() overlapped')
  await assert.rejects(runtime.load(config), /closed/)
  assert.deepEqual(runtime.addresses(), [])
})

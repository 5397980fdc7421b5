import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTestProxy, mockUpstream } from '../../src/testing/index.js'
import { exampleConfig } from './helpers.js'

test('examples/multi-tenant: routing by host, tenant header from the subdomain, apex redirect', async (t) => {
  const shared = mockUpstream(undefined, { name: 'shared' })
  const acme = mockUpstream(undefined, { name: 'acme' })
  const marketing = mockUpstream(undefined, { name: 'marketing' })
  const proxy = await createTestProxy(exampleConfig('multi-tenant'), { upstreams: { shared, acme, marketing } })
  t.after(() => proxy.close())

  const dedicated = await proxy.request('http://acme.saas.test/dashboard')
  assert.equal(dedicated.trace.servedBy, 'acme')
  assert.equal(acme.lastRequest?.headers.get('x-tenant'), 'acme')
  assert.equal((await proxy.request('http://portal.acme.example/')).trace.servedBy, 'acme', 'custom domain')

  const tenant = await proxy.request('http://Globex.SAAS.test:8080/invoices', { headers: { 'x-tenant': 'acme' } })
  assert.equal(tenant.trace.route?.route, 'tenants')
  assert.deepEqual(tenant.trace.route?.matched, ['host *.saas.test'])
  assert.equal(tenant.trace.servedBy, 'shared')
  assert.equal(shared.lastRequest?.headers.get('x-tenant'), 'globex', 'the client cannot pick another tenant')
  assert.equal(shared.lastRequest?.headers.get('host'), 'Globex.SAAS.test:8080', 'Host preserved')

  const apex = await proxy.request('http://saas.test/pricing')
  assert.equal(apex.status, 301)
  assert.equal(apex.headers.get('location'), 'https://www.saas.test/')
  assert.equal((await proxy.request('http://www.saas.test/')).trace.servedBy, 'marketing')
  const unknown = await proxy.request('http://elsewhere.test/')
  assert.equal(unknown.status, 421)
  assert.equal(unknown.trace.route?.route, 'unknown-host')
})

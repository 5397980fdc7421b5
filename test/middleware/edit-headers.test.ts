// editHeaders(): the built-in middleware change the headers of a response the proxy made for this
// request in place, and copy any other response (user code may share one between requests).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { editHeaders } from '../../src/middleware/util.js'
import { newProxyResponse, type BodySource } from '../../runtime/pipeline/proxy-response.js'

const noBody: BodySource = { open: () => null, sendTo: () => {}, cancel: () => {} }

test('a forwarded (proxy-made) response is changed in place: the same object comes back', () => {
  const res = newProxyResponse(200, ['content-type', 'text/plain'], noBody)
  const out = editHeaders(res, (h) => h.set('x-a', '1'))
  assert.equal(out, res)
  assert.equal(res.headers.get('x-a'), '1')
  assert.equal(res.headers.get('content-type'), 'text/plain')
})

test('a response user code made is copied: the original is never changed, so one shared object stays as it was', () => {
  const shared = new Response(null, { status: 204, headers: { vary: 'Accept' } })
  for (const id of ['a', 'b']) {
    const out = editHeaders(shared, (h) => h.set('x-request-id', id))
    assert.notEqual(out, shared)
    assert.equal(out.status, 204)
    assert.equal(out.headers.get('x-request-id'), id)
  }
  assert.equal(shared.headers.get('x-request-id'), null)
})

test('immutable headers (Response.redirect) are copied too; status and location kept', () => {
  const res = Response.redirect('http://127.0.0.1/x', 307)
  const out = editHeaders(res, (h) => h.set('x-a', '1'))
  assert.equal(out.status, 307)
  assert.equal(out.headers.get('location'), 'http://127.0.0.1/x')
  assert.equal(out.headers.get('x-a'), '1')
})

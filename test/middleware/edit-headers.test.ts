// editHeaders(): the built-in middleware change a response's headers in place when they may,
// and on a copy over the same body when the headers are immutable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { editHeaders } from '../../src/middleware/util.js'

test('mutable headers are changed in place: the same Response comes back', () => {
  const res = new Response('body', { status: 201, headers: { 'content-type': 'text/plain' } })
  const out = editHeaders(res, (h) => h.set('x-a', '1'))
  assert.equal(out, res)
  assert.equal(res.headers.get('x-a'), '1')
})

test('immutable headers (Response.redirect) get a copy with the change; status and body kept, the original untouched', async () => {
  const res = Response.redirect('http://127.0.0.1/x', 307)
  const out = editHeaders(res, (h) => h.set('x-a', '1'))
  assert.notEqual(out, res)
  assert.equal(out.status, 307)
  assert.equal(out.headers.get('location'), 'http://127.0.0.1/x')
  assert.equal(out.headers.get('x-a'), '1')
  assert.equal(res.headers.get('x-a'), null)
})

test('an edit that fails on mutable headers (an invalid value) throws as it would have', () => {
  const res = new Response(null)
  assert.throws(() => editHeaders(res, (h) => h.set('x-a', 'bad\nvalue')), TypeError)
})

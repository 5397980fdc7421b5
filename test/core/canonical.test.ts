import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalize, BadTargetError } from '../../runtime/canonical.js'

test('canonicalize: plain paths pass through unchanged', () => {
  assert.deepEqual(canonicalize('/users/7'), { path: '/users/7', query: '' })
  assert.deepEqual(canonicalize('/a/b?x=1&y=%20'), { path: '/a/b', query: 'x=1&y=%20' })
  assert.deepEqual(canonicalize('/'), { path: '/', query: '' })
})

test('canonicalize: dot segments removed, never above the root', () => {
  assert.equal(canonicalize('/a/../admin').path, '/admin')
  assert.equal(canonicalize('/a/./b/.').path, '/a/b/')
  assert.equal(canonicalize('/../../etc/passwd').path, '/etc/passwd')
  assert.equal(canonicalize('/a/b/..').path, '/a/')
  assert.equal(canonicalize('/%2e%2e/admin').path, '/admin')
  assert.equal(canonicalize('/a/%2E/b').path, '/a/b')
})

test('canonicalize: unreserved escapes decoded, others normalised to uppercase and kept', () => {
  assert.equal(canonicalize('/%7Euser/%61').path, '/~user/a')
  assert.equal(canonicalize('/a%2fb').path, '/a%2Fb')
  assert.equal(canonicalize('/caf%c3%a9').path, '/caf%C3%A9')
})

test('canonicalize: repeated slashes merged', () => {
  assert.equal(canonicalize('//admin///x').path, '/admin/x')
})

test('canonicalize: raw bytes ≥ 0x80 are percent-encoded', () => {
  assert.equal(canonicalize('/caf\u00c3\u00a9').path, '/caf%C3%A9')
})

test('canonicalize: absolute-form takes its authority', () => {
  assert.deepEqual(canonicalize('http://Example.COM:8080/a?b'), { path: '/a', query: 'b', authority: 'example.com:8080' })
  assert.deepEqual(canonicalize('http://example.com'), { path: '/', query: '', authority: 'example.com' })
})

test('canonicalize: malformed targets are rejected', () => {
  for (const bad of ['/a%zz', '/a%2', '*', 'ftp://x/y', '/a#frag', 'http://user@host/x', '/a b']) {
    assert.throws(() => canonicalize(bad), BadTargetError, bad)
  }
})

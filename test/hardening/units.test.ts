/** The hardening rules as pure functions: target, Host, Connection nominations, response TE. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalize, BadTargetError, isValidHost, withoutTrailingDot } from '../../runtime/canonical.js'
import { connectionNominated, nominatesProtected } from '../../runtime/forward/hop-by-hop.js'
import { stripHopByHop } from '../../runtime/forward/response-headers.js'

test('canonicalize refuses what a backend could read differently from the router', () => {
  for (const bad of [
    '/a%00b', '/a/..%2Fb', '/a/%2e%2e%2fb', '/a/..%5cb', '/a/.%2Fb', '/a%2F..%2Fb', '/a/..;/b', '/a/.;x/b', '/%2e%2e;/b',
    'http://a..b/x', 'http://.a/x', 'http://a b/x', 'http://[zz]/x', 'http://a:8o/x', 'http://:80/x',
  ]) {
    assert.throws(() => canonicalize(bad), BadTargetError, bad)
  }
})

test('canonicalize keeps what is harmless', () => {
  assert.equal(canonicalize('/files/a%2Fb').path, '/files/a%2Fb')
  assert.equal(canonicalize('/a/b%2F..x').path, '/a/b%2F..x') // '..x' is not a dot segment
  assert.equal(canonicalize('/a;b/c').path, '/a;b/c')
  assert.equal(canonicalize('/a/...;/b').path, '/a/...;/b')
  assert.equal(canonicalize('/%C0%AE%C0%AE/x').path, '/%C0%AE%C0%AE/x')
  assert.equal(canonicalize('http://A.Example.:8080/x').authority, 'a.example:8080')
  assert.equal(canonicalize('http://[::1]:80/x').authority, '[::1]:80')
})

test('isValidHost and withoutTrailingDot', () => {
  for (const ok of ['', 'a', 'a.example', 'a.example.', 'a-b_c~d.example:65535', '127.0.0.1:80', '[::1]', '[2001:db8::1]:443']) assert.ok(isValidHost(ok), ok)
  for (const bad of ['a..b', '.a', 'a b', 'u@a', 'a/b', 'a:b', 'a:', ':80', 'a,b', 'a%41', '[::1', 'a:123456', 'a\tb']) assert.ok(!isValidHost(bad), bad)
  assert.equal(withoutTrailingDot('a.example.'), 'a.example')
  assert.equal(withoutTrailingDot('a.example.:80'), 'a.example:80')
  assert.equal(withoutTrailingDot('a.example:80'), 'a.example:80')
  assert.equal(withoutTrailingDot('[::1]:80'), '[::1]:80')
})

test('Connection nominations: the proxy\'s own fields are never stripped; nominating them is detected', () => {
  assert.deepEqual(connectionNominated(['close, X-A, Host, Content-Length, x-forwarded-for, Forwarded']), new Set(['x-a']))
  assert.equal(connectionNominated(['keep-alive, x-forwarded-proto']), undefined)
  assert.equal(nominatesProtected('keep-alive, X-Forwarded-For'), 'x-forwarded-for')
  assert.equal(nominatesProtected(' host '), 'host')
  assert.equal(nominatesProtected('close, content-length'), 'content-length')
  assert.equal(nominatesProtected('keep-alive, Upgrade, x-custom, connection, transfer-encoding'), undefined)
})

test('stripHopByHop: plain chunked is dropped quietly; any other Transfer-Encoding, or a repeated one, throws; a 204 loses its Content-Length', () => {
  const h = (...kv: string[]) => kv
  assert.deepEqual(stripHopByHop(h('Transfer-Encoding', 'Chunked', 'X-A', '1'), 200), ['X-A', '1'])
  for (const coding of ['gzip', 'gzip, chunked', 'chunked, gzip', 'identity', '']) {
    assert.throws(() => stripHopByHop(h('Transfer-Encoding', coding), 200), { code: 'SWITCHYARD_BAD_UPSTREAM_RESPONSE' }, coding)
  }
  assert.throws(() => stripHopByHop(h('Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'), 200), { code: 'SWITCHYARD_BAD_UPSTREAM_RESPONSE' })
  // An upstream nominating Content-Length does not strip it.
  assert.deepEqual(stripHopByHop(h('Connection', 'content-length, x-hop', 'Content-Length', '2', 'X-Hop', 'a'), 200), ['Content-Length', '2'])
  assert.deepEqual(stripHopByHop(h('Content-Length', '5', 'X-A', '1'), 204), ['X-A', '1'])
  assert.deepEqual(stripHopByHop(h('Content-Length', '5'), 304), ['Content-Length', '5'])
  assert.deepEqual(stripHopByHop(h('Content-Length', '5', 'Link', '</a>'), 103), ['Link', '</a>'])
})

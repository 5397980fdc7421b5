import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  isNotModified, notModifiedHeaders, parseEntityTagList, revalidationHeaders, selectForUpdate, updateStoredHeaders,
} from '../../runtime/cache/conditional.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'

const T = Date.UTC(2026, 0, 1)
const LM = formatHttpDate(T - 86_400_000)

describe('revalidation requests (RFC 9111 §4.3.1)', () => {
  it('sends If-None-Match from ETag and If-Modified-Since from Last-Modified', () => {
    assert.deepEqual(revalidationHeaders({ headers: { etag: 'W/"v1"', 'last-modified': LM } }), {
      'if-none-match': 'W/"v1"', 'if-modified-since': LM,
    })
    assert.deepEqual(revalidationHeaders({ headers: { 'last-modified': LM, date: formatHttpDate(T) } }), { 'if-modified-since': LM })
    assert.deepEqual(revalidationHeaders({ headers: { date: formatHttpDate(T), etag: 'bo"gus' } }), {})
    assert.deepEqual(revalidationHeaders({ headers: { etag: 'unquoted' } }), { 'if-none-match': '"unquoted"' })
    assert.deepEqual(revalidationHeaders({ headers: { etag: 'w/"lower"' } }), { 'if-none-match': 'W/"lower"' })
  })
})

describe('304 handling (RFC 9111 §4.3.4, §3.2)', () => {
  const e = (etag: string | undefined, t: number, extra: Record<string, string> = {}) => ({
    headers: { ...(etag ? { etag } : {}), date: formatHttpDate(t), ...extra },
    responseTime: t,
  })

  it('a strong ETag selects every stored response with that strong ETag, and nothing else', () => {
    const a = e('"x"', T), b = e('"x"', T + 1000), w = e('W/"x"', T), c = e('"y"', T)
    assert.deepEqual(selectForUpdate([a, b, w, c], { etag: '"x"' }), [a, b])
    assert.deepEqual(selectForUpdate([c], { etag: '"x"' }, c), [])
  })

  it('a weak ETag or a Last-Modified selects the most recent match', () => {
    const a = e('W/"x"', T), b = e('"x"', T + 1000), c = e('W/"y"', T + 2000)
    assert.deepEqual(selectForUpdate([a, b, c], { etag: 'W/"x"' }), [b])
    const l1 = e(undefined, T, { 'last-modified': LM }), l2 = e(undefined, T + 5, { 'last-modified': formatHttpDate(T) })
    assert.deepEqual(selectForUpdate([l1, l2], { 'last-modified': LM }), [l1])
  })

  it('a validator-less 304 updates the single response being validated', () => {
    const a = e('"x"', T)
    assert.deepEqual(selectForUpdate([a], {}, a), [a])
    assert.deepEqual(selectForUpdate([a, e('"z"', T)], {}), [])
  })

  it('replaces stored fields with the 304 ones, except framing, hop-by-hop, encoding, cookies', () => {
    const stored: [string, string][] = [
      ['Content-Type', 'text/plain'], ['Content-Length', '5'], ['Content-Encoding', 'gzip'], ['Cache-Control', 'max-age=1'],
      ['X-Multi', '1'], ['X-Multi', '2'], ['ETag', '"a"'], ['Date', formatHttpDate(T)],
    ]
    const updated = updateStoredHeaders(stored, {
      'cache-control': 'max-age=100', 'x-multi': ['3'], date: formatHttpDate(T + 5000), 'content-length': '0',
      'content-encoding': 'br', connection: 'x-hop', 'x-hop': '1', 'keep-alive': 'timeout=1', 'set-cookie': 'a=1', 'x-new': 'n',
    })
    assert.deepEqual(updated, [
      ['Content-Type', 'text/plain'], ['Content-Length', '5'], ['Content-Encoding', 'gzip'], ['ETag', '"a"'],
      ['cache-control', 'max-age=100'], ['x-multi', '3'], ['date', formatHttpDate(T + 5000)], ['x-new', 'n'],
    ])
    assert.ok(updateStoredHeaders([], { 'set-cookie': 'a=1' }, { allowSetCookie: true }).length === 1)
  })
})

describe('client conditionals answered from cache (RFC 9110 §13)', () => {
  const stored = { status: 200, headers: { etag: '"v1"', 'last-modified': LM, date: formatHttpDate(T) }, responseTime: T }
  const req = (headers: Record<string, string>, method = 'GET') => ({ method, headers })

  it('If-None-Match uses weak comparison and accepts lists and *', () => {
    assert.ok(isNotModified(req({ 'if-none-match': 'W/"v1"' }), stored))
    assert.ok(isNotModified(req({ 'if-none-match': '"v0", "v1"' }), stored))
    assert.ok(isNotModified(req({ 'if-none-match': '*' }), stored))
    assert.ok(!isNotModified(req({ 'if-none-match': '"v2"' }), stored))
    assert.ok(isNotModified(req({ 'if-none-match': 'v1' }), stored), 'unquoted tags are read leniently')
    assert.ok(isNotModified(req({ 'if-none-match': '"v1"' }, 'HEAD'), stored))
    assert.ok(!isNotModified(req({ 'if-none-match': '"v1"' }, 'POST'), stored))
  })

  it('If-Modified-Since is ignored when If-None-Match is present', () => {
    assert.ok(!isNotModified(req({ 'if-none-match': '"zz"', 'if-modified-since': formatHttpDate(T) }), stored))
  })

  it('If-Modified-Since compares with Last-Modified, else Date', () => {
    assert.ok(isNotModified(req({ 'if-modified-since': LM }), stored))
    assert.ok(!isNotModified(req({ 'if-modified-since': formatHttpDate(T - 2 * 86_400_000) }), stored))
    assert.ok(!isNotModified(req({ 'if-modified-since': 'yesterday' }), stored))
    const noLm = { ...stored, headers: { date: formatHttpDate(T) } }
    assert.ok(isNotModified(req({ 'if-modified-since': formatHttpDate(T) }), noLm))
  })

  it('only for 2xx stored responses', () => {
    assert.ok(!isNotModified(req({ 'if-none-match': '*' }), { ...stored, status: 404 }))
  })

  it('builds 304 headers from the RFC 9110 §15.4.5 list', () => {
    const h: [string, string][] = [
      ['Content-Type', 'text/html'], ['ETag', '"1"'], ['Cache-Control', 'max-age=9'], ['Vary', 'Accept'],
      ['Last-Modified', LM], ['Date', 'd'], ['Content-Length', '10'], ['Expires', 'e'], ['Content-Location', '/x'],
    ]
    assert.deepEqual(notModifiedHeaders(h).map(([n]) => n), ['ETag', 'Cache-Control', 'Vary', 'Date', 'Expires', 'Content-Location'])
    assert.deepEqual(notModifiedHeaders([['Last-Modified', LM]]), [['Last-Modified', LM]])
  })

  it('parses entity-tag lists, skipping junk', () => {
    assert.deepEqual(parseEntityTagList('"a", W/"b", "c,d", bare, two words'), [
      { weak: false, opaque: '"a"' }, { weak: true, opaque: '"b"' }, { weak: false, opaque: '"c,d"' }, { weak: false, opaque: '"bare"' },
    ])
  })
})

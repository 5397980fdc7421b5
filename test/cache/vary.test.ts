import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { normalizeFieldValue, variantKey, varyFields, varyMatches } from '../../runtime/cache/vary.js'
import { selectVariant } from '../../runtime/cache/policy.js'
import { formatHttpDate } from '../../runtime/cache/http-date.js'

describe('Vary (RFC 9111 §4.1)', () => {
  it('lists nominated fields lowercase, deduplicated, across lines', () => {
    assert.deepEqual(varyFields([['Vary', 'Accept-Encoding, accept'], ['vary', 'ACCEPT-ENCODING']]), ['accept', 'accept-encoding'])
    assert.deepEqual(varyFields({}), [])
    assert.equal(varyFields({ vary: 'accept, *' }), '*')
  })

  it('normalises whitespace and line splitting, keeps absence distinct from empty', () => {
    assert.equal(normalizeFieldValue(['gzip,  br']), normalizeFieldValue(['gzip', 'br']))
    assert.equal(normalizeFieldValue(['text/html ; q=0.9 , */*']), 'text/html;q=0.9,*/*')
    assert.equal(normalizeFieldValue(['"a , b"']), '"a , b"')
    assert.equal(normalizeFieldValue([]), null)
    assert.equal(normalizeFieldValue(['']), '')
  })

  it('matches requests that differ only by whitespace, name case or line splitting', () => {
    const res = { vary: 'Accept-Encoding' }
    const key = variantKey(res, { 'accept-encoding': 'gzip, br' })!
    const stored = { headers: res, variantKey: key }
    assert.ok(varyMatches(stored, { 'accept-encoding': 'gzip,br' }))
    assert.ok(varyMatches(stored, [['Accept-Encoding', 'gzip'], ['ACCEPT-ENCODING', ' br ']]))
    assert.ok(!varyMatches(stored, { 'accept-encoding': 'gzip' }))
    assert.ok(!varyMatches(stored, {}))
  })

  it('ignores member order and case in Accept-* fields only', () => {
    const res = { vary: 'accept-encoding, accept-language, x-list' }
    const req = { 'accept-encoding': 'gzip, br', 'accept-language': 'en, de;q=0.5', 'x-list': 'a, b' }
    const stored = { headers: res, variantKey: variantKey(res, req)! }
    assert.ok(varyMatches(stored, { ...req, 'accept-encoding': 'BR, gzip', 'accept-language': 'de; q=0.5, EN' }))
    assert.ok(!varyMatches(stored, { ...req, 'x-list': 'b, a' }))
  })

  it('requires every nominated field to match, absent only matching absent', () => {
    const res = { vary: 'accept-language, x-a' }
    const stored = { headers: res, variantKey: variantKey(res, { 'accept-language': 'en' })! }
    assert.ok(varyMatches(stored, { 'accept-language': 'en' }))
    assert.ok(!varyMatches(stored, { 'accept-language': 'en', 'x-a': '' }))
    assert.ok(!varyMatches(stored, { 'accept-language': 'fr' }))
    assert.ok(varyMatches({ headers: {}, variantKey: '' }, { anything: 'x' }))
  })

  it('never matches Vary: *', () => {
    assert.equal(variantKey({ vary: '*' }, {}), undefined)
    assert.ok(!varyMatches({ headers: { vary: '*' }, variantKey: '' }, {}))
  })

  it('selects the most recent matching variant by Date', () => {
    const mk = (lang: string, date: number, responseTime = date) => ({
      status: 200,
      headers: { vary: 'accept-language', date: formatHttpDate(date) },
      variantKey: variantKey({ vary: 'accept-language' }, { 'accept-language': lang })!,
      requestTime: responseTime,
      responseTime,
    })
    const older = mk('en', 1_000_000_000_000)
    const newer = { ...mk('en', 1_000_000_100_000), status: 203 }
    const fr = mk('fr', 1_000_000_200_000)
    assert.equal(selectVariant([older, newer, fr], { 'accept-language': 'en' }), newer)
    assert.equal(selectVariant([older, fr], { 'accept-language': 'de' }), undefined)
  })
})

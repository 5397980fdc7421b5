/**
 * A strict parser for Structured Field Dictionaries (RFC 8941 §4.2.2), the syntax of
 * `CDN-Cache-Control` (RFC 9213). Any syntax error makes the whole field invalid (undefined),
 * as §4.2 requires; a repeated key keeps its last value. Parameters are parsed and dropped.
 */

/** A member's value: Integer/Decimal → number, String/Token/Byte Sequence → string, Boolean, or an Inner List. */
export type BareItem = number | string | boolean
export type DictionaryValue = BareItem | BareItem[]

export function parseDictionary(input: string): Map<string, DictionaryValue> | undefined {
  const p = new Parser(input)
  return p.dictionary()
}

const KEY_START = /[a-z*]/
const KEY_CHAR = /[a-z0-9_\-.*]/
const TOKEN_START = /[A-Za-z*]/
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/
const BASE64 = /^[A-Za-z0-9+/=]*$/

class Parser {
  #i = 0
  constructor(readonly s: string) {}

  dictionary(): Map<string, DictionaryValue> | undefined {
    const out = new Map<string, DictionaryValue>()
    this.#skip(' ')
    if (this.#i === this.s.length) return out
    for (;;) {
      const key = this.#key()
      if (key === undefined) return undefined
      let value: DictionaryValue | undefined = true
      if (this.s[this.#i] === '=') {
        this.#i++
        value = this.s[this.#i] === '(' ? this.#innerList() : this.#bareItem()
        if (value === undefined) return undefined
      }
      if (!this.#params()) return undefined
      out.set(key, value)
      this.#ows()
      if (this.#i === this.s.length) return out
      if (this.s[this.#i] !== ',') return undefined
      this.#i++
      this.#ows()
      if (this.#i === this.s.length) return undefined // trailing comma
    }
  }

  #skip(c: string): void {
    while (this.s[this.#i] === c) this.#i++
  }

  #ows(): void {
    while (this.s[this.#i] === ' ' || this.s[this.#i] === '\t') this.#i++
  }

  #key(): string | undefined {
    const start = this.#i
    if (!KEY_START.test(this.s[this.#i] ?? '')) return undefined
    this.#i++
    while (this.#i < this.s.length && KEY_CHAR.test(this.s[this.#i]!)) this.#i++
    return this.s.slice(start, this.#i)
  }

  #params(): boolean {
    while (this.s[this.#i] === ';') {
      this.#i++
      this.#skip(' ')
      if (this.#key() === undefined) return false
      if (this.s[this.#i] === '=') {
        this.#i++
        if (this.#bareItem() === undefined) return false
      }
    }
    return true
  }

  #innerList(): BareItem[] | undefined {
    this.#i++ // (
    const items: BareItem[] = []
    for (;;) {
      this.#skip(' ')
      if (this.s[this.#i] === ')') {
        this.#i++
        return this.#params() ? items : undefined
      }
      const item = this.#bareItem()
      if (item === undefined || !this.#params()) return undefined
      items.push(item)
      const c = this.s[this.#i]
      if (c !== ' ' && c !== ')') return undefined
    }
  }

  #bareItem(): BareItem | undefined {
    const c = this.s[this.#i]
    if (c === undefined) return undefined
    if (c === '-' || (c >= '0' && c <= '9')) return this.#number()
    if (c === '"') return this.#string()
    if (c === ':') return this.#bytes()
    if (c === '?') return this.#boolean()
    if (TOKEN_START.test(c)) return this.#token()
    return undefined
  }

  #number(): number | undefined {
    const m = /^-?(\d{1,15})(\.\d{1,3})?/.exec(this.s.slice(this.#i))
    if (m === null) return undefined
    if (m[2] === undefined ? m[1]!.length > 15 : m[1]!.length > 12) return undefined
    const next = this.s[this.#i + m[0].length]
    if (next !== undefined && ((next >= '0' && next <= '9') || next === '.')) return undefined
    this.#i += m[0].length
    return Number(m[0])
  }

  #string(): string | undefined {
    let out = ''
    for (this.#i++; this.#i < this.s.length; this.#i++) {
      const c = this.s[this.#i]!
      if (c === '\\') {
        const n = this.s[++this.#i]
        if (n !== '"' && n !== '\\') return undefined
        out += n
      } else if (c === '"') {
        this.#i++
        return out
      } else if (c < ' ' || c > '~') return undefined
      else out += c
    }
    return undefined
  }

  #token(): string {
    const start = this.#i++
    while (this.#i < this.s.length && TOKEN_CHAR.test(this.s[this.#i]!)) this.#i++
    return this.s.slice(start, this.#i)
  }

  #bytes(): string | undefined {
    const end = this.s.indexOf(':', this.#i + 1)
    if (end < 0) return undefined
    const body = this.s.slice(this.#i + 1, end)
    if (!BASE64.test(body)) return undefined
    this.#i = end + 1
    return body
  }

  #boolean(): boolean | undefined {
    const v = this.s[this.#i + 1]
    if (v !== '0' && v !== '1') return undefined
    this.#i += 2
    return v === '1'
  }
}

// HTTP-date (RFC 9110 §5.6.7): recipients must accept IMF-fixdate, RFC 850 and asctime forms.
// Day, month and GMT are matched case-insensitively, as most caches do. Anything else is invalid
// (undefined); callers decide what that means (RFC 9111 §5.3: an invalid Expires is "expired").
import { memoize } from './memo.js'

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
}
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
const IMF = new RegExp(`^${DAY}, (\\d{2}) ([A-Za-z]{3}) (\\d{4}) ${TIME} GMT$`, 'i')
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-([A-Za-z]{3})-(\\d{2}) ${TIME} GMT$`, 'i')
const ASCTIME = new RegExp(`^${DAY} ([A-Za-z]{3}) ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i')

function build(y: number, mon: string, d: number, h: number, mi: number, s: number): number | undefined {
  const m = MONTHS[mon.toLowerCase()]
  if (m === undefined || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined
  const t = Date.UTC(y, m, d, h, mi, Math.min(s, 59))
  // Reject day overflow (e.g. 31 Feb) rather than silently rolling over.
  return new Date(t).getUTCDate() === d ? t : undefined
}

// Memoized for the preferred (and by far most common) format only: it does not depend on `now`.
// NaN stands for "invalid" inside the memo, which cannot hold undefined.
const imfMemo = memoize(512, (v: string): number => {
  const m = IMF.exec(v)
  return (m && build(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!)) ?? NaN
})

/** Parses an HTTP-date to epoch ms; `now` resolves RFC 850 two-digit years (§5.6.7). */
export function parseHttpDate(value: string | undefined, now = 0): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  const imf = imfMemo(v)
  if (!Number.isNaN(imf)) return imf
  let m = ASCTIME.exec(v)
  if (m) return build(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!)
  m = RFC850.exec(v)
  if (m) {
    // A two-digit year more than 50 years in the future means the most recent past such year.
    const nowYear = new Date(now).getUTCFullYear()
    let y = Math.floor(nowYear / 100) * 100 + +m[3]!
    if (y > nowYear + 50) y -= 100
    return build(y, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!)
  }
  return undefined
}

/** Formats epoch ms as IMF-fixdate. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString()
}

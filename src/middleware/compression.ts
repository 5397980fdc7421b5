/**
 * `compression()`: compress response bodies with Brotli or gzip, as a stream, chosen by the
 * request's `Accept-Encoding` (q-values honoured: `q=0` excludes a coding, `*` stands for the
 * ones not listed; ties go to the order of `encodings`). No acceptable coding → sent as is.
 *
 * ```ts
 * import { compression } from 'switchyard/middleware'
 * use: [compression({ encodings: ['br', 'gzip'], minSize: '1kb', level: { br: 5, gzip: 6 } })]
 * ```
 * Left alone: HEAD requests, `1xx`/`204`/`304`/`206` responses (and any with `Content-Range`),
 * responses that already have a `Content-Encoding`, `Cache-Control: no-transform`, bodies whose
 * `Content-Length` is below `minSize`, already-compressed types (images except SVG, audio, video,
 * fonts woff/woff2, zip/gzip/7z/rar/…) and `text/event-stream`. A compressed response gets
 * `Content-Encoding`, loses `Content-Length` (sent chunked) and `Accept-Ranges`, and a strong ETag
 * becomes weak (`W/"…"`); every response that could have been compressed gets
 * `Vary: Accept-Encoding` (appended to an existing Vary).
 *
 * As an `onResponse` hook it sees the response after the middleware listed after it
 * (`use: [compression(), otherThing()]` compresses what `otherThing` produced).
 */
import { constants, createBrotliCompress, createGzip, type BrotliOptions, type ZlibOptions } from 'node:zlib'
import { Duplex } from 'node:stream'
import type { Middleware } from '../config/hooks.js'
import { appendToken, editHeaders, sizeOption, withHeaders } from './util.js'

export type Encoding = 'br' | 'gzip'

export interface CompressionOptions {
  /** Server preference order, default ['br', 'gzip']. */
  encodings?: Encoding[]
  /** Smallest Content-Length compressed (bytes or '1kb'), default 1024. Bodies of unknown length are compressed. */
  minSize?: number | string
  /** A number for both (clamped to each range) or per coding; defaults br 4, gzip 6 (speed over ratio for streaming). */
  level?: number | { br?: number; gzip?: number }
  /** Decide by content-type yourself; default: everything but known already-compressed types. */
  filter?: (contentType: string) => boolean
}

const INCOMPRESSIBLE = /^(image\/(?!svg\+xml)|audio\/|video\/|font\/woff2?|application\/(zip|gzip|x-gzip|x-7z-compressed|x-rar-compressed|x-bzip2|x-xz|zstd|vnd\.rar|octet-stream)|text\/event-stream)/i

export function compressible(contentType: string): boolean {
  return !INCOMPRESSIBLE.test(contentType.trim())
}

/**
 * The coding to use for an Accept-Encoding value, or undefined for identity. Without the header
 * nothing is compressed (RFC 9110 would allow any coding, but old clients send none).
 */
export function negotiateEncoding(accept: string | null, supported: readonly Encoding[]): Encoding | undefined {
  if (accept === null) return undefined
  const q = new Map<string, number>()
  for (const part of accept.split(',')) {
    const [rawName, ...params] = part.split(';')
    const name = rawName!.trim().toLowerCase()
    if (!name) continue
    let value = 1
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p)
      if (m) value = Math.min(1, Math.max(0, Number(m[1]) || 0))
    }
    const key = name === 'x-gzip' ? 'gzip' : name
    q.set(key, Math.max(q.get(key) ?? -1, value))
  }
  const star = q.get('*')
  let best: Encoding | undefined
  let bestQ = 0
  for (const enc of supported) {
    const v = q.get(enc) ?? star ?? 0
    if (v > bestQ) [best, bestQ] = [enc, v]
  }
  return best
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(n)))
}

export function compression(options: CompressionOptions = {}): Middleware {
  const encodings = options.encodings ?? ['br', 'gzip']
  for (const e of encodings) if (e !== 'br' && e !== 'gzip') throw new TypeError(`compression(): unsupported encoding '${e}' (br, gzip)`)
  const minSize = sizeOption(options.minSize ?? 1024, 'compression(): minSize')
  const lv = options.level
  const brQuality = clamp(typeof lv === 'number' ? lv : lv?.br ?? 4, 0, 11)
  const gzipLevel = clamp(typeof lv === 'number' ? lv : lv?.gzip ?? 6, 1, 9)
  const filter = options.filter ?? compressible

  const makeStream = (enc: Encoding, length: number | undefined, text: boolean): Duplex => {
    if (enc === 'gzip') return createGzip({ level: gzipLevel } satisfies ZlibOptions)
    const params: Record<number, number> = {
      [constants.BROTLI_PARAM_QUALITY]: brQuality,
      [constants.BROTLI_PARAM_MODE]: text ? constants.BROTLI_MODE_TEXT : constants.BROTLI_MODE_GENERIC,
    }
    if (length !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = length
    return createBrotliCompress({ params } satisfies BrotliOptions)
  }

  return {
    name: 'compression',
    onResponse(ctx, res) {
      if (ctx.method === 'HEAD') return undefined
      const s = res.status
      if (s < 200 || s === 204 || s === 206 || s === 304) return undefined
      const h = res.headers
      if (h.has('content-range')) return undefined
      const existing = h.get('content-encoding')
      if (existing !== null && existing.trim().toLowerCase() !== 'identity') return undefined
      if (/(^|,)\s*no-transform\s*(,|$)/i.test(h.get('cache-control') ?? '')) return undefined
      const type = h.get('content-type') ?? ''
      if (!filter(type)) return undefined
      const cl = h.get('content-length')
      const length = cl !== null && /^\d+$/.test(cl) ? Number(cl) : undefined
      if (length !== undefined && length < minSize) return undefined
      // Only now: on a forwarded response, asking for the body makes its Web stream (~20 µs).
      if (res.body === null) return undefined
      // From here the representation depends on Accept-Encoding, whatever we pick.
      const enc = negotiateEncoding(ctx.headers.get('accept-encoding'), encodings)
      if (!enc) return editHeaders(res, (headers) => appendToken(headers, 'vary', 'Accept-Encoding'))
      const out = new Headers(h)
      appendToken(out, 'vary', 'Accept-Encoding')
      out.set('content-encoding', enc)
      out.delete('content-length')
      out.delete('accept-ranges')
      const etag = out.get('etag')
      if (etag && etag.startsWith('"')) out.set('etag', `W/${etag}`)
      const text = /^(text\/|application\/(json|javascript|xml|.*\+json|.*\+xml)|image\/svg\+xml)/i.test(type)
      const pair = Duplex.toWeb(makeStream(enc, length, text)) as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }
      return withHeaders(res, out, res.body.pipeThrough(pair))
    },
  }
}

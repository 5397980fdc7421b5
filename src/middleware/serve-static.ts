/**
 * `serveStatic()`: serve files from a folder. An `onRequest` hook: GET/HEAD requests for files
 * that exist are answered from disk; everything else falls through to the route's action, so
 *
 * ```ts
 * import { serveStatic } from 'switchyard/middleware'
 * routes: [{ match: { path: '/*' }, to: 'api', use: [serveStatic({ root: './public', maxAge: '1h' })] }]
 * ```
 * is a static site with an API behind it (`/app.js` from disk, `/api/users` to `api`).
 *
 * - **Paths**: the request's canonical path (minus `prefix`) is decoded segment by segment and
 *   resolved under `root`. Segments that decode to `.`, `..`, or contain `/`, `\` or NUL, and
 *   undecodable escapes are never mapped to a file (they fall through, or get `404` with
 *   `fallthrough: false`). The file's real path (symlinks resolved) must stay inside root's.
 * - **Dotfiles** (any segment starting with `.`): `'deny'` (default) answers `403` for ones that
 *   exist, `'ignore'` falls through as if they did not exist, `'allow'` serves them.
 * - **Directories**: `/dir/` serves the first existing `index` file; `/dir` redirects (301) to `/dir/`.
 * - **Caching**: strong `ETag` from size and mtime, `Last-Modified`, `Cache-Control: public,
 *   max-age=…` (`, immutable` with `immutable: true`); `If-None-Match` (wins) or
 *   `If-Modified-Since` → `304`.
 * - **Ranges** (GET): one range → `206` with `Content-Range`; none satisfiable → `416` with
 *   `Content-Range: bytes *\/size`; several ranges are not supported and get the whole file
 *   (`200`), which RFC 9110 allows. `If-Range` with a stale validator also gets the whole file.
 * - Bodies are streamed from an open file descriptor (never read whole); HEAD sends headers only.
 */
import { open, realpath, stat, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { extname, resolve, sep } from 'node:path'
import type { Middleware } from '../config/hooks.js'
import { durationOption } from './util.js'
import { parseRange, ifRangeAllows } from '../../runtime/byte-range.js'

export { parseRange, type ByteRange } from '../../runtime/byte-range.js'

export interface ServeStaticOptions {
  /** The folder to serve (relative to the working directory). */
  root: string
  /** Index files tried for a directory, default ['index.html']; [] or false for none. */
  index?: string[] | false
  /** Cache-Control max-age (ms or '1h'), default 0. */
  maxAge?: number | string
  /** Add `immutable` to Cache-Control (fingerprinted assets), default false. */
  immutable?: boolean
  /** Default 'deny'. */
  dotfiles?: 'deny' | 'allow' | 'ignore'
  /** URL prefix mapped to root, default '/' (`prefix: '/assets'`: `/assets/a.css` → `root/a.css`). */
  prefix?: string
  /** Fall through to the route's action when no file matches (default true); false: answer 404. */
  fallthrough?: boolean
  /** Extra or overriding content types by extension: `{ '.webmanifest': 'application/manifest+json' }`. */
  contentTypes?: Record<string, string>
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json',
  '.map': 'application/json', '.txt': 'text/plain; charset=utf-8', '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8', '.xml': 'application/xml', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.avif': 'image/avif',
  '.ico': 'image/x-icon', '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.otf': 'font/otf',
  '.pdf': 'application/pdf', '.wasm': 'application/wasm', '.mp4': 'video/mp4', '.webm': 'video/webm',
  '.mp3': 'audio/mpeg', '.wav': 'audio/wav', '.ogg': 'audio/ogg', '.zip': 'application/zip', '.gz': 'application/gzip',
  '.webmanifest': 'application/manifest+json',
}

export function contentTypeFor(path: string, extra: Record<string, string> = {}): string {
  const ext = extname(path).toLowerCase()
  return extra[ext] ?? TYPES[ext] ?? 'application/octet-stream'
}

/** Decoded path segments of a URL path, or undefined if any is unsafe to map to a file. */
export function safeSegments(pathname: string): string[] | undefined {
  const out: string[] = []
  for (const raw of pathname.split('/')) {
    if (raw === '') continue
    let seg: string
    try {
      seg = decodeURIComponent(raw)
    } catch {
      return undefined
    }
    if (seg === '.' || seg === '..' || seg.includes('/') || seg.includes('\\') || seg.includes('\0')) return undefined
    out.push(seg)
  }
  return out
}

/** Strong ETag from size and mtime. */
export function fileEtag(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`
}

function etagListMatches(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  const bare = etag.replace(/^W\//, '')
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === bare)
}

/** 304 for a GET/HEAD whose If-None-Match (or, without it, If-Modified-Since) matches. */
export function notModified(headers: Headers, etag: string, mtimeMs: number): boolean {
  const inm = headers.get('if-none-match')
  if (inm !== null) return etagListMatches(inm, etag)
  const ims = headers.get('if-modified-since')
  if (ims === null) return false
  const since = Date.parse(ims)
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since
}

export function serveStatic(options: ServeStaticOptions): Middleware {
  if (typeof options.root !== 'string' || options.root === '') throw new TypeError('serveStatic(): root is required')
  const root = resolve(options.root)
  const index = options.index === false ? [] : options.index ?? ['index.html']
  const maxAge = Math.floor(durationOption(options.maxAge ?? 0, 'serveStatic(): maxAge') / 1000)
  const cacheControl = `public, max-age=${maxAge}${options.immutable ? ', immutable' : ''}`
  const dotfiles = options.dotfiles ?? 'deny'
  const prefix = (options.prefix ?? '/').replace(/\/+$/, '')
  const fallthrough = options.fallthrough ?? true
  const types = Object.fromEntries(Object.entries(options.contentTypes ?? {}).map(([k, v]) => [k.toLowerCase(), v]))
  let rootReal: Promise<string> | undefined

  const miss = (): Response | undefined => (fallthrough ? undefined : new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } }))

  /** The real path of `candidate` if it is a regular file inside root (symlinks resolved). */
  const inside = async (candidate: string): Promise<string | undefined> => {
    let base: string
    try {
      base = await (rootReal ??= realpath(root))
    } catch {
      rootReal = undefined // root may appear later
      return undefined
    }
    try {
      const real = await realpath(candidate)
      return real === base || real.startsWith(base.endsWith(sep) ? base : base + sep) ? real : undefined
    } catch {
      return undefined
    }
  }

  return {
    name: 'serveStatic',
    async onRequest(ctx) {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return undefined
      let pathname = ctx.url.pathname
      if (prefix) {
        if (pathname !== prefix && !pathname.startsWith(prefix + '/')) return undefined
        pathname = pathname.slice(prefix.length) || '/'
      }
      const segments = safeSegments(pathname)
      if (!segments) return miss()
      const dotted = segments.some((s) => s.startsWith('.'))
      if (dotted && dotfiles === 'ignore') return miss()
      let file = resolve(root, ...segments)
      if (file !== root && !file.startsWith(root + sep)) return miss()
      let real = await inside(file)
      if (!real) return miss()
      let info = await stat(real).catch(() => undefined)
      if (!info) return miss()
      if (info.isDirectory()) {
        let found: string | undefined
        for (const name of index) {
          const candidate = await inside(resolve(file, name))
          if (candidate && (await stat(candidate).catch(() => undefined))?.isFile()) {
            found = candidate
            break
          }
        }
        if (!found) return miss()
        if (!pathname.endsWith('/')) {
          const location = `${ctx.url.pathname}/${ctx.url.search}`
          return new Response(`Redirecting to ${location}`, { status: 301, headers: { location, 'content-type': 'text/plain; charset=utf-8' } })
        }
        file = found
        real = found
      } else if (!info.isFile() || pathname.endsWith('/')) return miss()
      if (dotted && dotfiles === 'deny') return new Response('Forbidden', { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } })
      return (await sendFile(ctx.method, ctx.headers, real, file, { cacheControl, types })) ?? miss()
    },
  }
}

async function sendFile(method: string, req: Headers, real: string, shownAs: string, o: { cacheControl: string; types: Record<string, string> }): Promise<Response | undefined> {
  let fh: FileHandle
  try {
    fh = await open(real, 'r')
  } catch {
    return undefined
  }
  let handed = false
  try {
    const info = await fh.stat()
    if (!info.isFile()) return undefined
    const size = info.size
    const etag = fileEtag(size, info.mtimeMs)
    const lastModified = new Date(Math.floor(info.mtimeMs / 1000) * 1000).toUTCString()
    const headers = new Headers({
      etag, 'last-modified': lastModified, 'cache-control': o.cacheControl, 'accept-ranges': 'bytes',
    })
    if (notModified(req, etag, info.mtimeMs)) return new Response(null, { status: 304, headers })
    headers.set('content-type', contentTypeFor(shownAs, o.types))
    let status = 200
    let start = 0
    let end = size - 1
    if (method === 'GET' && ifRangeAllows(req.get('if-range'), etag, lastModified)) {
      const range = parseRange(req.get('range'), size)
      if (range === 'unsatisfiable') {
        headers.set('content-range', `bytes */${size}`)
        headers.delete('content-type')
        headers.set('content-length', '0')
        return new Response(null, { status: 416, headers })
      }
      if (range) {
        status = 206
        ;({ start, end } = range)
        headers.set('content-range', `bytes ${start}-${end}/${size}`)
      }
    }
    const length = size === 0 ? 0 : end - start + 1
    headers.set('content-length', String(length))
    if (method === 'HEAD' || length === 0) return new Response(method === 'HEAD' ? null : new Uint8Array(0), { status, headers })
    const stream = fh.createReadStream({ start, end, autoClose: true, highWaterMark: 64 * 1024 })
    handed = true
    return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, headers })
  } finally {
    if (!handed) await fh.close().catch(() => {})
  }
}

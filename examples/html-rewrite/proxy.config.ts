// HTML rewriting in a response hook: the legacy app's pages link to its internal origin and
// lack a banner; an onResponse hook rewrites those links and injects a banner before </body>,
// streaming (a TransformStream: pages are never buffered whole). Other content types pass as is.
//
//   LEGACY_URL=http://127.0.0.1:3001 npx switchyard dev examples/html-rewrite/proxy.config.ts
import { defineConfig, type Middleware } from 'switchyard'
import { replaceStream } from './rewrite-html.js'

const internalOrigin = process.env.LEGACY_INTERNAL_ORIGIN ?? 'http://legacy.internal:8080'
const banner = '<div class="notice" role="status">This site moves to the new platform on 1 March.</div>'

function rewriteHtml(): Middleware {
  return {
    name: 'rewriteHtml',
    onResponse(_ctx, res) {
      if (!res.body || !(res.headers.get('content-type') ?? '').startsWith('text/html')) return undefined
      const headers = new Headers(res.headers)
      headers.delete('content-length') // the length changes: sent chunked
      headers.delete('etag') // a different body than the upstream's
      const body = res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(replaceStream([[internalOrigin, ''], ['</body>', `${banner}</body>`]]))
        .pipeThrough(new TextEncoderStream())
      return new Response(body, { status: res.status, headers })
    },
  }
}

export default defineConfig({
  listen: { port: Number(process.env.PORT ?? 8080) },
  upstreams: { legacy: { servers: [process.env.LEGACY_URL ?? 'http://127.0.0.1:3001'] } },
  routes: [
    // Compressed HTML could not be rewritten: ask the upstream for identity.
    { name: 'legacy', to: 'legacy', headers: { request: { remove: ['accept-encoding'] } }, use: [rewriteHtml()] },
  ],
})

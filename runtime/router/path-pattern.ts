/**
 * Path patterns: `/exact`, `/users/:id` (one segment), `/static/*` (the rest, possibly
 * empty, as `splat`; `/static/*` also matches `/static`). Matching runs on the canonical
 * path; captured values keep their percent-encoding (`ctx.params` decodes them).
 */

export type PathParams = Record<string, string>
export type PathMatcher = (path: string) => PathParams | null

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
export const NO_PARAMS: PathParams = Object.freeze({}) as PathParams

/** An error message for a malformed pattern, or undefined. */
export function checkPathPattern(pattern: string): string | undefined {
  if (!pattern.startsWith('/')) return `path pattern '${pattern}' must start with '/'`
  const segments = pattern.split('/').slice(1)
  const names = new Set<string>()
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!
    if (s === '*') {
      if (i !== segments.length - 1) return `path pattern '${pattern}': '*' may only be the last segment`
      continue
    }
    if (s.includes('*')) return `path pattern '${pattern}': '*' must be a whole segment ('/static/*')`
    if (s.startsWith(':')) {
      const name = s.slice(1)
      if (!NAME.test(name)) return `path pattern '${pattern}': ':${name}' is not a valid parameter name`
      if (name === 'splat' || names.has(name)) return `path pattern '${pattern}': parameter '${name}' is used twice or reserved`
      names.add(name)
    }
  }
  return undefined
}

export function compilePathPattern(pattern: string): PathMatcher {
  const segments = pattern.split('/').slice(1)
  const splat = segments[segments.length - 1] === '*'
  const fixed = splat ? segments.slice(0, -1) : segments
  if (!fixed.some((s) => s.startsWith(':'))) {
    const prefix = `/${fixed.join('/')}`
    if (!splat) return (path) => (path === pattern ? NO_PARAMS : null)
    if (prefix === '/') return (path) => ({ splat: path.slice(1) })
    const withSlash = `${prefix}/`
    return (path) => {
      if (path === prefix) return { splat: '' }
      return path.startsWith(withSlash) ? { splat: path.slice(withSlash.length) } : null
    }
  }
  return (path) => {
    const parts = path.split('/')
    // parts[0] is '' (the path starts with '/').
    if (splat ? parts.length - 1 < fixed.length : parts.length - 1 !== fixed.length) return null
    const params: PathParams = {}
    for (let i = 0; i < fixed.length; i++) {
      const want = fixed[i]!
      const got = parts[i + 1]!
      if (want.charCodeAt(0) === 58 /* : */) {
        if (got === '') return null
        params[want.slice(1)] = got
      } else if (want !== got) return null
    }
    if (splat) params.splat = parts.slice(fixed.length + 1).join('/')
    return params
  }
}

/** Fills `:name` and `:splat` in a template from params (values inserted as captured). */
export function fillTemplate(template: string, params: PathParams): string {
  return template.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => params[name] ?? whole)
}

/** `switchyard purge`: asks a running proxy's admin API to drop cached responses. */

export interface PurgeOptions {
  admin?: string
  tag?: string
  prefix?: string
  url?: string
  key?: string
  token?: string
}

export interface PurgeIo {
  out: (line: string) => void
  err: (line: string) => void
}

const stdio: PurgeIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`switchyard purge: ${line}\n`),
}

export async function runPurge(o: PurgeOptions, io: PurgeIo = stdio): Promise<number> {
  const admin = o.admin ?? process.env.SWITCHYARD_ADMIN
  if (!admin) {
    io.err('--admin <url> is required (the admin API address, e.g. http://127.0.0.1:9000), or set SWITCHYARD_ADMIN')
    return 1
  }
  const given = (['tag', 'prefix', 'url', 'key'] as const).filter((k) => typeof o[k] === 'string' || typeof o[k] === 'number')
  if (given.length !== 1) {
    io.err('give exactly one of --tag <tag>, --prefix </path or URL prefix>, --url <url>, --key <cache key>')
    return 1
  }
  const field = given[0]!
  const token = o.token ?? process.env.SWITCHYARD_ADMIN_TOKEN
  let endpoint: URL
  try {
    endpoint = new URL('/cache/purge', admin)
  } catch {
    io.err(`--admin: expected a URL such as http://127.0.0.1:9000, got '${admin}'`)
    return 1
  }
  try {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ [field]: String(o[field]) }),
      signal: AbortSignal.timeout(30_000),
    })
    const body = (await res.json().catch(() => ({}))) as { purged?: number; error?: string }
    if (!res.ok) {
      io.err(`${res.status}: ${body.error ?? res.statusText}`)
      return 1
    }
    io.out(`purged ${body.purged ?? 0} cached response${body.purged === 1 ? '' : 's'} (${field} ${String(o[field])})`)
    return 0
  } catch (err) {
    io.err(`cannot reach ${endpoint.origin}: ${(err as Error).message}`)
    return 1
  }
}

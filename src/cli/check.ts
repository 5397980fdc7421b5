/** `switchyard check`: compile + validate, print what was found, exit 1 with the message on error. */
import { relative } from 'node:path'
import { findConfig } from '../config/find-config.js'
import { ConfigLoader } from '../server/config-loader.js'
import type { ResolvedRoute, ResolvedUpstream } from '../../runtime/resolved-config.js'

export async function runCheck(configPath: string | undefined): Promise<number> {
  let loader: ConfigLoader | undefined
  try {
    const file = findConfig(configPath)
    loader = new ConfigLoader(file, 'start')
    const { config } = await loader.load()
    const out: string[] = [`${relative(process.cwd(), file) || file}: OK`]
    out.push(`listen: ${config.listen.map((l) => `${l.host}:${l.port}`).join(', ')}`)
    out.push(`upstreams (${config.upstreams.size}):`)
    for (const u of config.upstreams.values()) {
      out.push(`  ${u.name}  ${describeBalance(u.balance)}  ${u.servers.map((s) => (s.weight === 1 ? s.origin : `${s.origin} (weight ${s.weight})`)).join(', ')}`)
    }
    out.push(`routes (${config.routes.length}, first match wins):`)
    for (const r of config.routes) out.push(`  ${String(r.index + 1).padStart(2)}. ${describeMatch(r)}  →  ${describeAction(r)}${r.name !== `routes[${r.index}]` ? `  [${r.name}]` : ''}`)
    process.stdout.write(`${out.join('\n')}\n`)
    return 0
  } catch (err) {
    process.stderr.write(`switchyard check: ${(err as Error).message}\n`)
    return 1
  } finally {
    await loader?.dispose()
  }
}

function describeMatch(r: ResolvedRoute): string {
  const m = r.match
  const parts: string[] = []
  if (m.methods) parts.push(m.methods.join('|'))
  if (m.hosts) parts.push(`host ${m.hosts.map((h) => (h.startsWith('.') ? `*${h}` : h)).join('|')}`)
  parts.push(m.paths ? m.paths.join(' | ') : '(any path)')
  if (m.headers) parts.push(`headers ${m.headers.map(([n]) => n).join(', ')}`)
  return parts.join(' ')
}

function describeAction(r: ResolvedRoute): string {
  const a = r.action
  switch (a.type) {
    case 'forward': return `upstream ${a.upstream}${a.rewrite ? ` (rewrite ${JSON.stringify(a.rewrite)})` : ''}`
    case 'redirect': return `redirect ${a.status} ${a.to}`
    case 'respond': return `respond ${a.status}`
    case 'handle': return 'handler'
  }
}

function describeBalance(balance: ResolvedUpstream['balance']): string {
  if (typeof balance === 'string') return balance
  if (typeof balance === 'function') return 'custom'
  return balance.policy === 'hash' ? `hash (${typeof balance.key === 'function' ? 'custom key' : balance.key})` : balance.policy
}

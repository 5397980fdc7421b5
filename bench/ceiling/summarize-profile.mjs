// Summarises a V8 .cpuprofile: self time per function (top N) and by category.
//   node bench/ceiling/summarize-profile.mjs FILE.cpuprofile [N]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

function category(cf) {
  const url = cf.url || ''
  const fn = cf.functionName || ''
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(program)' || fn === '(idle)' || fn === '(root)') return fn
  if (url === '') return 'native (C++ bindings, syscalls)'
  if (url.includes('node_modules/undici')) return 'undici'
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url.includes('_http_')) return 'node:http'
  if (url.startsWith('node:internal/streams') || url.startsWith('node:stream')) return 'node streams'
  if (url.startsWith('node:net') || url.startsWith('node:internal/stream_base') || url.startsWith('node:internal/net')) return 'node net'
  if (url.startsWith('node:internal/timers') || url.startsWith('node:timers')) return 'node timers'
  if (url.startsWith('node:events') || url.startsWith('node:internal/event')) return 'node events'
  if (url.startsWith('node:internal/process/task_queues') || url.startsWith('node:internal/async_hooks')) return 'node ticks/async'
  if (url.startsWith('node:')) return 'node other'
  return 'app (this code)'
}

export function summarizeProfile(profile, top = 25) {
  const { nodes, samples, timeDeltas } = profile
  const byId = new Map(nodes.map((n) => [n.id, n]))
  const self = new Map()
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + (timeDeltas[i] ?? 0))
  let total = 0
  let idle = 0
  const fns = new Map()
  const cats = new Map()
  for (const [id, t] of self) {
    const n = byId.get(id)
    const cf = n.callFrame
    if (cf.functionName === '(idle)') { idle += t; continue }
    total += t
    const short = (cf.url || '').replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/bench\/ceiling\//, 'ceiling/').replace(/^file:\/\/.*\/work\/main\//, '')
    const key = `${cf.functionName || '(anonymous)'} ${short ? `${short}:${cf.lineNumber + 1}` : ''}`.trim()
    fns.set(key, (fns.get(key) ?? 0) + t)
    const c = category(cf)
    cats.set(c, (cats.get(c) ?? 0) + t)
  }
  const pct = (t) => `${((t / total) * 100).toFixed(1)} %`
  const lines = [`busy ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s (self time; % of busy)`, '', '| category | self |', '| --- | ---: |']
  for (const [c, t] of [...cats].sort((a, b) => b[1] - a[1])) lines.push(`| ${c} | ${pct(t)} |`)
  lines.push('', '| function | self |', '| --- | ---: |')
  for (const [k, t] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`| \`${k.replaceAll('|', '\\|')}\` | ${pct(t)} |`)
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(summarizeProfile(JSON.parse(readFileSync(process.argv[2], 'utf8')), Number(process.argv[3] ?? 25)) + '\n')
}

#!/usr/bin/env node
// Ceiling spike runner: what do bare servers and minimal proxies cost per request on this machine?
// Same method as `npm run bench`: server/proxy pinned to CPU 0, wrk -t1 and the nginx origin on
// CPU 1, a warm-up per variant, interleaved rounds, medians; CPU µs/request from /proc/PID/stat.
//
//   node bench/ceiling/run.mjs                         # all 17 variants, 64 + 256 conns, 3 × 3 s (~8 min quiet)
//   node bench/ceiling/run.mjs --only a,b-end-cork,e --conns 64 --rounds 5 --duration 5
//   node bench/ceiling/run.mjs --path /64k --conns 64 --only a,b-end-cork,e,f-nginx-proxy
//   node bench/ceiling/run.mjs --profile a,b-end-cork,d,e   # --cpu-prof summaries + strace -c
//
// Scratch goes to bench/.work/ceiling/ (git-ignored); the table is printed and written to
// bench/.work/ceiling/results-*.md|json. Every child is its own process group, stopped by PID.
import { spawn, spawnSync, execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import http from 'node:http'
import os from 'node:os'
import { summarizeProfile } from './summarize-profile.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
const work = join(repo, 'bench', '.work', 'ceiling')

// ---------- arguments ----------
const argv = process.argv.slice(2)
function arg(name, dflt) {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? dflt : argv[i + 1]
}
const ROUNDS = Number(arg('rounds', 3))
const DURATION = Number(arg('duration', 3))
const WARMUP = Number(arg('warmup', 2))
const CONNS = arg('conns', '64,256').split(',').map(Number)
const PATH = arg('path', '/small')
const ONLY = arg('only', '')
const PROFILE = arg('profile', '')
// The machines are shared: a measurement during which other processes used more than MAX_OTHER %
// of a CPU is repeated (up to RETRIES times, after a pause); the quietest attempt is kept.
const MAX_OTHER = Number(arg('max-other', 20))
const RETRIES = Number(arg('retries', 2))
const PROXY_CPU = '0'
const LOAD_CPU = '1'

// ---------- process management ----------
const live = new Map()
function start(name, cmd, args, { cpus, env } = {}) {
  const full = cpus !== undefined ? ['taskset', '-c', cpus, cmd, ...args] : [cmd, ...args]
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } })
  let out = ''
  child.stdout.on('data', (d) => { out = (out + d).slice(-8192) })
  child.stderr.on('data', (d) => { out = (out + d).slice(-8192) })
  const exited = new Promise((r) => child.on('exit', (code) => { live.delete(child.pid); r(code) }))
  const m = { name, pid: child.pid, child, exited, output: () => out }
  live.set(child.pid, m)
  return m
}
async function stop(m, signal = 'SIGTERM') {
  if (!live.has(m.pid)) return
  try { process.kill(-m.pid, signal) } catch {}
  const t = setTimeout(() => { try { process.kill(-m.pid, 'SIGKILL') } catch {} }, 5000)
  await m.exited
  clearTimeout(t)
}
function stopAllSync() {
  for (const m of live.values()) { try { process.kill(-m.pid, 'SIGKILL') } catch {} }
}
process.on('SIGINT', () => { stopAllSync(); process.exit(130) })
process.on('SIGTERM', () => { stopAllSync(); process.exit(143) })
process.on('exit', stopAllSync)

// ---------- /proc ----------
const CLK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
function stat(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]) }
  } catch { return undefined }
}
function tree(pid) {
  const kids = new Map()
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue
    const st = stat(Number(n))
    if (!st) continue
    if (!kids.has(st.ppid)) kids.set(st.ppid, [])
    kids.get(st.ppid).push(Number(n))
  }
  const out = []
  const q = [pid]
  while (q.length) { const p = q.shift(); out.push(p); q.push(...(kids.get(p) ?? [])) }
  return out
}
function cpu(pids) {
  let u = 0, s = 0
  for (const p of pids) { const st = stat(p); if (st) { u += st.utime; s += st.stime } }
  return { user: (u * 1e6) / CLK, sys: (s * 1e6) / CLK }
}
function rss(pids) {
  let kb = 0
  for (const p of pids) {
    try { kb += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) } catch {}
  }
  return kb / 1024
}
function machineBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  return ((f[0] + f[1] + f[2]) * 1e6) / CLK
}
function machineSteal() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  return ((f[7] ?? 0) * 1e6) / CLK
}
function selfCpu() {
  const s = readFileSync('/proc/self/stat', 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1e6) / CLK
}

// ---------- HTTP readiness ----------
function get(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: 1000 }, (res) => {
      let n = 0
      res.on('data', (d) => { n += d.length })
      res.on('end', () => resolve({ status: res.statusCode, bytes: n, headers: res.headers }))
    })
    req.on('error', () => resolve(undefined))
    req.on('timeout', () => { req.destroy(); resolve(undefined) })
  })
}
async function waitReady(m, port, path = '/small', ms = 15000) {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (!live.has(m.pid)) throw new Error(`${m.name} exited: ${m.output()}`)
    const r = await get(port, path)
    if (r?.status === 200) return r
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${m.name} not ready on :${port}: ${m.output()}`)
}

// ---------- wrk ----------
function parseDur(s) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s)
  return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : NaN
}
function runWrk(port, conns, durationS, path = PATH) {
  return new Promise((resolve, reject) => {
    const m = start('wrk', 'wrk', ['-t1', `-c${conns}`, `-d${durationS}s`, '--latency', '--timeout', '2s', `http://127.0.0.1:${port}${path}`], { cpus: LOAD_CPU })
    const killer = setTimeout(() => stop(m, 'SIGKILL'), (durationS + 20) * 1000)
    m.exited.then((code) => {
      clearTimeout(killer)
      const out = m.output()
      const num = (re) => Number(re.exec(out)?.[1] ?? NaN)
      const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
      const errors = (num(/Non-2xx or 3xx responses:\s+(\d+)/) || 0) + (sock ? sock.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0)
      const r = {
        requests: num(/(\d+) requests in/),
        rps: num(/Requests\/sec:\s+([\d.]+)/),
        p50: parseDur(/^\s*50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
        p99: parseDur(/^\s*99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
        errors,
      }
      if (code !== 0 || Number.isNaN(r.rps)) reject(new Error(`wrk failed (${code}): ${out}`))
      else resolve(r)
    })
  })
}

// ---------- nginx ----------
function nginxCommon(dir) {
  const user = process.getuid?.() === 0 ? 'user root root;\n' : ''
  return `${user}daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 16000; multi_accept on; }
`
}
// Same http settings as bench/lib/nginx.ts (httpCommon).
function nginxHttp(dir) {
  return `  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_max_body_size 2m;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
`
}
function startNginx(name, port, body, cpus) {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `${nginxCommon(dir)}http {\n${nginxHttp(dir)}${body(port)}}\n`)
  return start(name, 'nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { cpus })
}
const www = join(work, 'www')
const originBody = (port) => `  open_file_cache max=64;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    location / { }
  }
`
const returnBody = (port) => `  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { default_type text/plain; return 200 'hello world\\n'; }
  }
`
const proxyBody = (originPort) => (port) => `  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 1024;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      client_body_buffer_size 2m;
      proxy_buffers 32 32k;
      proxy_max_temp_file_size 0;
    }
  }
`

// ---------- variants ----------
const node = process.execPath
const script = (p) => join(here, p)
function nodeVariant(name, file, env = {}, group = 'proxy', desc = '') {
  return {
    name, group, desc,
    start: (port, originPort, extraNodeArgs = []) =>
      start(name, node, [...extraNodeArgs, script(file)], { cpus: PROXY_CPU, env: { PORT: String(port), ORIGIN_PORT: String(originPort), ...env } }),
  }
}
const VARIANTS = [
  nodeVariant('node-http-hello', 'servers/node-hello.mjs', {}, 'server', 'bare node:http hello world'),
  nodeVariant('net-hello', 'servers/net-hello.mjs', {}, 'server', 'bare net server, strict-ish head parse (regex per line)'),
  nodeVariant('net-hello-crlf', 'servers/net-hello.mjs', { PARSE: 'crlf' }, 'server', 'bare net server, only finds \\r\\n\\r\\n'),
  nodeVariant('net-hello-llhttp', 'servers/net-hello.mjs', { PARSE: 'llhttp' }, 'server', 'bare net server, requests parsed by llhttp (undici wasm, strict)'),
  { name: 'nginx-return', group: 'server', desc: 'nginx `return 200`', start: (port) => startNginx('nginx-return', port, returnBody, PROXY_CPU) },
  nodeVariant('a', 'proxies/node-undici.mjs', {}, 'proxy', 'node:http + undici dispatch, writeHead(flat)+write+end (≈ Switchyard minimal)'),
  nodeVariant('a-timer', 'proxies/node-undici.mjs', { FLAGS: 'timer' }, 'proxy', 'a + per-request setTimeout/clearTimeout (Switchyard total timeout)'),
  nodeVariant('b-obj', 'proxies/node-undici.mjs', { FLAGS: 'obj' }, 'proxy', 'a with writeHead(object)'),
  nodeVariant('b-cork', 'proxies/node-undici.mjs', { FLAGS: 'cork' }, 'proxy', 'a + socket.cork() head..first chunk/end'),
  nodeVariant('b-end', 'proxies/node-undici.mjs', { FLAGS: 'end' }, 'proxy', 'a + single-chunk body → writeHead + res.end(chunk)'),
  nodeVariant('b-end-cork', 'proxies/node-undici.mjs', { FLAGS: 'end,cork' }, 'proxy', 'b-end + cork around writeHead/end'),
  nodeVariant('c', 'proxies/node-netclient.mjs', {}, 'proxy', 'node:http front + hand-written net upstream client'),
  nodeVariant('d', 'proxies/net-undici.mjs', {}, 'proxy', 'net front (minimal parse) + undici dispatch, one write per response'),
  nodeVariant('e', 'proxies/net-net.mjs', {}, 'proxy', 'net front + net upstream, minimal parse both ways'),
  nodeVariant('e-llhttp', 'proxies/net-net-llhttp.mjs', {}, 'proxy', 'e with llhttp (undici wasm, strict) parsing both directions'),
  { name: 'f-nginx-proxy', group: 'proxy', desc: 'nginx proxy_pass, upstream keepalive', start: (port, originPort) => startNginx('nginx-proxy', port, proxyBody(originPort), PROXY_CPU) },
]
const SWITCHYARD_BIN = join(repo, 'dist', 'src', 'cli', 'bin.js')
if (existsSync(SWITCHYARD_BIN) || ONLY.split(',').includes('switchyard')) {
  VARIANTS.push({
    name: 'switchyard', group: 'proxy', desc: 'Switchyard as built in dist/ (harness config)',
    start: (port, originPort, extraNodeArgs = []) => {
      const cfg = join(work, 'switchyard.config.ts')
      writeFileSync(cfg, `import { defineConfig } from 'switchyard'
export default defineConfig({
  listen: { port: ${port} },
  upstreams: { origin: { servers: ['http://127.0.0.1:${originPort}'], keepAlive: { connections: 256 } } },
  routes: [{ match: { path: '/*' }, to: 'origin' }],
  log: { access: false },
})
`)
      return start('switchyard', node, [...extraNodeArgs, SWITCHYARD_BIN, 'start', cfg, '--port', String(port)], { cpus: PROXY_CPU })
    },
  })
}

// ---------- helpers ----------
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
const fmt = (n, d = 0) => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–'
const log = (s) => process.stderr.write(`${s}\n`)

function prepareWww() {
  mkdirSync(www, { recursive: true })
  writeFileSync(join(www, 'small'), 'hello world\n')
  writeFileSync(join(www, '64k'), Buffer.alloc(64 * 1024, 'a'))
  writeFileSync(join(www, '1m'), Buffer.alloc(1024 * 1024, 'b'))
}

async function startOrigin(port) {
  const o = startNginx('origin', port, originBody, LOAD_CPU)
  await waitReady(o, port)
  return o
}

async function measure(v, m, port, conns, durationS, originPids) {
  const pids = tree(m.pid)
  const c0 = cpu(pids)
  const busy0 = machineBusy()
  const steal0 = machineSteal()
  const oc0 = cpu(originPids())
  const ours0 = c0.user + c0.sys + oc0.user + oc0.sys + selfCpu()
  const t0 = performance.now()
  let peak = rss(pids)
  const sampler = setInterval(() => { peak = Math.max(peak, rss(pids)) }, 250)
  const w = await runWrk(port, conns, durationS)
  clearInterval(sampler)
  const c1 = cpu(pids)
  const elapsed = (performance.now() - t0) * 1000
  const oc1 = cpu(originPids())
  const ours1 = c1.user + c1.sys + oc1.user + oc1.sys + selfCpu()
  const foreign = Math.max(0, ((machineBusy() - busy0 - (ours1 - ours0)) / elapsed) * 100)
  const steal = ((machineSteal() - steal0) / elapsed) * 100
  const n = w.requests
  return { ...w, steal, cpuUs: (c1.user + c1.sys - c0.user - c0.sys) / n, userUs: (c1.user - c0.user) / n, sysUs: (c1.sys - c0.sys) / n, rss: Math.max(peak, rss(pids)), foreign }
}

// ---------- benchmark mode ----------
async function bench() {
  prepareWww()
  const selected = ONLY ? VARIANTS.filter((v) => ONLY.split(',').includes(v.name)) : VARIANTS
  const originPort = 18080
  const origin = await startOrigin(originPort)
  const originPids = () => tree(origin.pid)
  const direct = await get(originPort, PATH)
  log(`origin ready: GET ${PATH} → ${direct.status}, ${direct.bytes} B`)
  const results = {} // conns -> name -> [rounds]
  const meta = {}
  try {
    for (const conns of CONNS) {
      results[conns] = {}
      const running = []
      let port = 18100
      for (const v of selected) {
        const p = port++
        const m = v.start(p, originPort)
        running.push({ v, m, port: p })
      }
      for (const r of [...running]) {
        try {
          const res = await waitReady(r.m, r.port, PATH)
          r.idleRss = rss(tree(r.m.pid))
          meta[r.v.name] = { desc: r.v.desc, group: r.v.group, check: `${res.status} ${res.bytes} B` }
        } catch (err) {
          log(`skipping ${r.v.name}: ${String(err.message).slice(0, 300)}`)
          await stop(r.m)
          running.splice(running.indexOf(r), 1)
        }
      }
      for (const r of running) {
        log(`[${conns}] warm-up ${r.v.name}`)
        await runWrk(r.port, conns, WARMUP)
      }
      for (let round = 1; round <= ROUNDS; round++) {
        for (const r of running) {
          let x
          for (let attempt = 0; attempt <= RETRIES; attempt++) {
            const y = await measure(r.v, r.m, r.port, conns, DURATION, originPids)
            if (x === undefined || y.foreign + y.steal < x.foreign + x.steal) x = y
            if (y.foreign <= MAX_OTHER && y.steal <= 5) break
            log(`[${conns}] round ${round} ${r.v.name}: other processes used ${fmt(y.foreign)}% of a CPU, steal ${fmt(y.steal)}% — retrying`)
            await new Promise((res) => setTimeout(res, 1500))
          }
          x.idleRss = r.idleRss
          ;(results[conns][r.v.name] ??= []).push(x)
          log(`[${conns}] round ${round} ${r.v.name.padEnd(16)} ${fmt(x.rps).padStart(7)} req/s  ${fmt(x.cpuUs, 1).padStart(6)} µs/req (usr ${fmt(x.userUs, 1)} sys ${fmt(x.sysUs, 1)})  p99 ${fmt(x.p99, 2)} ms  err ${x.errors}  other ${fmt(x.foreign)}%  steal ${fmt(x.steal)}%`)
        }
      }
      for (const r of running) await stop(r.m)
    }
  } finally {
    await stop(origin)
  }
  const md = report(results, meta)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(join(work, `results-${stamp}.json`), JSON.stringify({ results, meta, args: argv }, null, 1))
  writeFileSync(join(work, `results-${stamp}.md`), md)
  process.stdout.write(md)
  log(`written: ${join(work, `results-${stamp}.md`)}`)
}

function report(results, meta) {
  const lines = []
  lines.push(`Ceiling spike — ${new Date().toISOString()} — ${os.cpus()[0]?.model} × ${os.cpus().length}, Node ${process.version}`)
  lines.push(`GET ${PATH}; ${ROUNDS} rounds × ${DURATION} s interleaved, warm-up ${WARMUP} s; server on CPU ${PROXY_CPU}, wrk -t1 + nginx origin on CPU ${LOAD_CPU}.`)
  lines.push(`× nginx = median of per-round req/s ratios to the nginx reference of the same group (servers: nginx-return; proxies: f-nginx-proxy).`)
  for (const conns of Object.keys(results)) {
    lines.push('', `### ${conns} connections`, '')
    lines.push('| variant | req/s | × nginx | CPU µs/req | usr µs | sys µs | p50 ms | p99 ms | p99 × nginx | RSS idle/load MiB | errors | rounds req/s [other CPU %] |')
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    const rs = results[conns]
    for (const [name, rounds] of Object.entries(rs)) {
      const ref = meta[name].group === 'server' ? rs['nginx-return'] : rs['f-nginx-proxy']
      const ratio = ref ? median(rounds.map((x, i) => x.rps / ref[i].rps)) : NaN
      const p99ratio = ref ? median(rounds.map((x, i) => x.p99 / ref[i].p99)) : NaN
      lines.push(`| ${name} | ${fmt(median(rounds.map((x) => x.rps)))} | ${fmt(ratio, 2)} | ${fmt(median(rounds.map((x) => x.cpuUs)), 1)} | ${fmt(median(rounds.map((x) => x.userUs)), 1)} | ${fmt(median(rounds.map((x) => x.sysUs)), 1)} | ${fmt(median(rounds.map((x) => x.p50)), 2)} | ${fmt(median(rounds.map((x) => x.p99)), 2)} | ${fmt(p99ratio, 2)} | ${fmt(rounds[0].idleRss, 1)}/${fmt(Math.max(...rounds.map((x) => x.rss)), 1)} | ${rounds.reduce((a, x) => a + x.errors, 0)} | ${rounds.map((x) => `${fmt(x.rps)} [${fmt(x.foreign)}]`).join(', ')} |`)
    }
  }
  lines.push('', 'Variants:', '')
  for (const [name, m] of Object.entries(meta)) lines.push(`- **${name}** (${m.group}): ${m.desc}`)
  return lines.join('\n') + '\n'
}

// ---------- profile mode ----------
async function profile() {
  prepareWww()
  const names = PROFILE.split(',')
  const originPort = 18080
  const origin = await startOrigin(originPort)
  const out = []
  const haveStrace = spawnSync('sh', ['-c', 'command -v strace']).status === 0
  try {
    for (const name of names) {
      const v = VARIANTS.find((x) => x.name === name)
      if (!v) { log(`unknown variant ${name}`); continue }
      const port = 18200
      const conns = CONNS[0]
      // 1. CPU profile (node variants only)
      if (v.name !== 'f-nginx-proxy' && v.name !== 'nginx-return') {
        const dir = join(work, 'prof', name)
        rmSync(dir, { recursive: true, force: true })
        mkdirSync(dir, { recursive: true })
        const m = v.start(port, originPort, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'])
        await waitReady(m, port, PATH)
        await runWrk(port, conns, WARMUP)
        const w = await runWrk(port, conns, DURATION)
        await stop(m)
        await new Promise((r) => setTimeout(r, 300))
        const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
        // Switchyard may start helper processes; take the largest profile (the server).
        files.sort((a, b) => readFileSync(join(dir, b)).length - readFileSync(join(dir, a)).length)
        if (files[0]) {
          const s = summarizeProfile(JSON.parse(readFileSync(join(dir, files[0]), 'utf8')), 25)
          out.push(`## ${name} — CPU profile (${conns} conns, ${fmt(w.rps)} req/s under the profiler)`, '', s, '')
        }
      }
      // 2. syscalls per request
      if (haveStrace) {
        const m = v.start(port, originPort)
        await waitReady(m, port, PATH)
        await runWrk(port, conns, WARMUP)
        const pids = tree(m.pid)
        const file = join(work, `strace-${name}.txt`)
        const st = start('strace', 'strace', ['-c', '-f', '-o', file, ...pids.flatMap((p) => ['-p', String(p)])])
        await new Promise((r) => setTimeout(r, 700))
        const w = await runWrk(port, conns, DURATION)
        await stop(st, 'SIGINT')
        await stop(m)
        const text = readFileSync(file, 'utf8')
        const rows = []
        let total = 0
        for (const line of text.split('\n')) {
          const f = line.trim().split(/\s+/)
          if (f.length >= 5 && /^\d/.test(f[0]) && /^\d+$/.test(f[3])) {
            const name = f[f.length - 1]
            const calls = Number(f[3])
            if (name === 'total') { total = calls; continue }
            rows.push([name, calls])
          }
        }
        rows.sort((a, b) => b[1] - a[1])
        out.push(`## ${name} — syscalls per request (strace -c -f, ${conns} conns, ${w.requests} requests, ${fmt(w.rps)} req/s under strace)`, '')
        out.push(`total ${fmt(total / w.requests, 2)} / request: ` + rows.filter((r) => r[1] / w.requests >= 0.01).map(([n, c]) => `${n} ${fmt(c / w.requests, 2)}`).join(', '), '')
      }
    }
  } finally {
    await stop(origin)
  }
  const text = out.join('\n') + '\n'
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  writeFileSync(join(work, `profile-${stamp}.md`), text)
  process.stdout.write(text)
  log(`written: ${join(work, `profile-${stamp}.md`)}`)
}

mkdirSync(work, { recursive: true })
const main = PROFILE ? profile : bench
main().then(() => process.exit(0), (err) => { log(err.stack ?? String(err)); stopAllSync(); process.exit(1) })

// Merges results-*.json files from run.mjs and keeps only quiet rounds (other processes < N % of
// a CPU): medians of CPU µs/req (total/usr/sys), req/s and p99 per variant and connection count.
//   node bench/ceiling/aggregate.mjs [--max-other 10] [--exclude 'a,b-*@256'] FILE.json…
const argv = process.argv.slice(2)
let maxOther = 10
let exclude = []
const files = []
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--max-other') maxOther = Number(argv[++i])
  else if (argv[i] === '--exclude') exclude.push(argv[++i])
  else files.push(argv[i])
}
const { readFileSync } = await import('node:fs')
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN }
const fmt = (n, d = 0) => Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–'
// exclusion spec per file: "FILEINDEX:variant-glob@conns"
const rounds = {} // conns -> name -> [x]
files.forEach((f, fi) => {
  const j = JSON.parse(readFileSync(f, 'utf8'))
  for (const [conns, byName] of Object.entries(j.results)) {
    for (const [name, xs] of Object.entries(byName)) {
      const skip = exclude.some((e) => {
        const m = /^(\d+):([^@]+)@(\d+)$/.exec(e)
        return m && Number(m[1]) === fi && new RegExp(`^${m[2].replaceAll('*', '.*')}$`).test(name) && m[3] === conns
      })
      if (skip) continue
      for (const x of xs) if (x.foreign < maxOther && x.requests > 0) ((rounds[conns] ??= {})[name] ??= []).push(x)
    }
  }
})
for (const [conns, byName] of Object.entries(rounds)) {
  console.log(`\n### ${conns} connections — quiet rounds only (other < ${maxOther} %)\n`)
  console.log('| variant | quiet rounds | CPU µs/req | usr µs | sys µs | req/s | p99 ms |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  const rows = Object.entries(byName).map(([n, xs]) => [n, xs, median(xs.map((x) => x.cpuUs))]).sort((a, b) => a[2] - b[2])
  for (const [n, xs, cpu] of rows) {
    console.log(`| ${n} | ${xs.length} | ${fmt(cpu, 1)} | ${fmt(median(xs.map((x) => x.userUs)), 1)} | ${fmt(median(xs.map((x) => x.sysUs)), 1)} | ${fmt(median(xs.map((x) => x.rps)))} | ${fmt(median(xs.map((x) => x.p99)), 2)} |`)
  }
}

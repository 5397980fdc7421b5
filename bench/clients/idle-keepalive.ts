// Opens N keep-alive connections, sends one GET on each, reads the response, then idles.
// Prints `ready <open> <failed>` once every connection has its response, and answers a line
// `count` on stdin with `open <n>` (connections still open). Runs until stdin closes or SIGTERM.
//   node idle-keepalive.js --port 8080 --count 10000 --path /small
import net from 'node:net'
import readline from 'node:readline'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { port: { type: 'string' }, count: { type: 'string' }, path: { type: 'string' }, batch: { type: 'string' } },
})
const port = Number(values.port)
const count = Number(values.count ?? 10000)
const path = values.path ?? '/small'
const batch = Number(values.batch ?? 200)
const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`

const sockets = new Set<net.Socket>()
let failed = 0

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    let settled = false
    const finish = (ok: boolean): void => {
      if (settled) return
      settled = true
      if (!ok) failed++
      resolve()
    }
    s.setTimeout(15000, () => {
      s.destroy()
      finish(false)
    })
    s.once('connect', () => s.write(request))
    let seen = ''
    s.on('data', (d: Buffer) => {
      if (settled) return
      seen += d.toString('latin1')
      // The bench paths answer with a Content-Length body; the head is enough to know it answered.
      if (seen.includes('\r\n\r\n')) {
        s.setTimeout(0)
        sockets.add(s)
        finish(/^HTTP\/1\.1 200/.test(seen))
      }
    })
    s.on('error', () => finish(false))
    s.on('close', () => {
      sockets.delete(s)
      finish(false)
    })
  })
}

let next = 0
async function worker(): Promise<void> {
  while (next < count) {
    next++
    await openOne()
  }
}
await Promise.all(Array.from({ length: batch }, worker))
process.stdout.write(`ready ${sockets.size} ${failed}\n`)

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (line.trim() === 'count') process.stdout.write(`open ${sockets.size}\n`)
})
rl.on('close', () => {
  for (const s of sockets) s.destroy()
  process.exit(0)
})

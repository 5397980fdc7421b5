// Sends malformed / smuggling-style requests to running fronts and prints what each answered.
//   node bench/ceiling/check-strictness.mjs PORT [PORT…]   (first line of the answer, or "closed")
import net from 'node:net'

const CASES = {
  'valid GET': 'GET /small HTTP/1.1\r\nHost: a\r\n\r\n',
  'pipelined ×2': 'GET /small HTTP/1.1\r\nHost: a\r\n\r\nGET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'CL + TE': 'GET /small HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'duplicate CL': 'GET /small HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\nx',
  'TE: xchunked': 'GET /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n',
  'duplicate Host': 'GET /small HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'no Host (1.1)': 'GET /small HTTP/1.1\r\n\r\n',
  'space before colon': 'GET /small HTTP/1.1\r\nHost : a\r\n\r\n',
  'bare LF': 'GET /small HTTP/1.1\nHost: a\n\n',
  'obs-fold': 'GET /small HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n',
  'NUL in value': 'GET /small HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n',
  'CR in value': 'GET /small HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
  'bad method char': 'G(T /small HTTP/1.1\r\nHost: a\r\n\r\n',
  'HTTP/1.2': 'GET /small HTTP/1.2\r\nHost: a\r\n\r\n',
  'absolute-form': 'GET http://a/small HTTP/1.1\r\nHost: a\r\n\r\n',
  'space in target': 'GET /sm all HTTP/1.1\r\nHost: a\r\n\r\n',
  'CL: +5': 'GET /small HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello',
  'chunk ext smuggle': 'POST /small HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;\nxx\r\n0\r\n\r\n',
}

function probe(port, payload) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let out = ''
    const t = setTimeout(() => { s.destroy(); resolve(out ? summary(out) : 'no answer (1 s)') }, 1000)
    s.on('data', (d) => { out += d.toString('latin1') })
    s.on('close', () => { clearTimeout(t); resolve(out ? summary(out) + ' +closed' : 'closed') })
    s.on('error', () => {})
    s.write(payload)
  })
}
function summary(out) {
  const statuses = [...out.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => m[1])
  return statuses.join(',')
}

const ports = process.argv.slice(2).map(Number)
const rows = [['case', ...ports.map(String)]]
for (const [name, payload] of Object.entries(CASES)) rows.push([name, ...(await Promise.all(ports.map((p) => probe(p, payload))))])
for (const r of rows) console.log('| ' + r.join(' | ') + ' |')

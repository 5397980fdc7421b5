// ctx.log (a logger bound to the request) and ctx.annotate (fields for the access record), for
// hooks and handlers, through the proxy's logger in both formats.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { echoBackend, startProxy, http, collectingLog } from '../helpers/servers.js'
import { Runtime } from '../../runtime/runtime.js'
import { resolveConfig } from '../../src/config/resolve-config.js'
import { requestId } from '../../src/middleware/index.js'
import type { HookContext, LogRecord } from '../../src/config/hooks.js'
import { createLogger } from '../../src/log/logger.js'
import { until } from '../middleware/e2e-helpers.js'

test('ctx.log carries route, method, target and the request id; ctx.annotate reaches the access record and onLog', async (t) => {
  const backend = await echoBackend()
  const seen: LogRecord[] = []
  const proxy = await startProxy({
    log: { access: true },
    upstreams: { api: { servers: [backend.url] } },
    use: [requestId({ generate: () => 'req-1' })],
    routes: [
      {
        name: 'api',
        match: { path: '/api/*' },
        to: 'api',
        hooks: {
          onRequest: (ctx) => {
            ctx.log.info('token checked', { user: 'alice' })
            ctx.annotate({ user: 'alice', plan: 'free' })
          },
          onResponse: (ctx) => void ctx.annotate({ plan: 'pro' }),
          onLog: (_ctx, record) => void seen.push(record),
        },
      },
      {
        name: 'hello',
        match: { path: '/hello' },
        handle: (_req, ctx) => {
          ctx.log.warn('handler says hi', { n: 1 })
          ctx.annotate({ tenant: 'acme' })
          return new Response('hi')
        },
      },
      { name: 'plain', match: { path: '/plain' }, handle: () => new Response('plain') },
    ],
  })
  t.after(() => proxy.close())
  t.after(() => backend.close())

  assert.equal((await http(`${proxy.url}/api/x?y=1`)).status, 200)
  await until(() => proxy.log.accesses.length === 1, 'access record')
  assert.deepEqual(proxy.log.lines.find((l) => l.message === 'token checked'), {
    level: 'info', message: 'token checked', fields: { route: 'api', method: 'GET', target: '/api/x?y=1', requestId: 'req-1', user: 'alice' },
  })
  assert.deepEqual(proxy.log.accesses[0]!.annotations, { user: 'alice', plan: 'pro' })
  assert.deepEqual(seen[0]!.annotations, { user: 'alice', plan: 'pro' })

  // Handlers: the same logger and annotations (no requestId there: `use` is global, so it ran).
  assert.equal((await http(`${proxy.url}/hello`, { method: 'POST', body: 'x' })).body.toString(), 'hi')
  await until(() => proxy.log.accesses.length === 2, 'access record')
  assert.deepEqual(proxy.log.lines.find((l) => l.message === 'handler says hi'), {
    level: 'warn', message: 'handler says hi', fields: { route: 'hello', method: 'POST', target: '/hello', requestId: 'req-1', n: 1 },
  })
  assert.deepEqual(proxy.log.accesses[1]!.annotations, { tenant: 'acme' })

  // Nothing annotated: no annotations key at all.
  await http(`${proxy.url}/plain`)
  await until(() => proxy.log.accesses.length === 3, 'access record')
  assert.equal('annotations' in proxy.log.accesses[2]!, false)
})

test('annotations in the access log: top-level JSON fields (the record wins a name clash), k=v in pretty lines', () => {
  const lines: string[] = []
  const record = {
    method: 'GET', target: '/a', host: 'h', status: 200, route: 'r', upstream: undefined, durationMs: 1.23, bytes: 2,
    clientIp: '127.0.0.1', error: undefined, annotations: { user: 'alice', status: 'spoofed', n: 3 },
  }
  const json = createLogger({ format: 'json', write: (line) => void lines.push(line) })
  json.access(record)
  const parsed = JSON.parse(lines[0]!)
  assert.equal(parsed.user, 'alice')
  assert.equal(parsed.n, 3)
  assert.equal(parsed.status, 200)
  assert.equal('annotations' in parsed, false)
  const pretty = createLogger({ format: 'pretty', color: false, write: (line) => void lines.push(line) })
  pretty.access(record)
  assert.match(lines[1]!, /GET \/a 200 \(r\) 1\.2ms user=alice status=spoofed n=3$/)
  pretty.info('from a hook', { route: 'r', user: 'bob', skipped: undefined })
  assert.match(lines[2]!, /from a hook route=r user=bob$/)
})

test('values JSON cannot encode (BigInt, cycles, a throwing toJSON) never crash the proxy: both formats write them', async (t) => {
  for (const format of ['json', 'pretty'] as const) {
    const lines: string[] = []
    const runtime = new Runtime({ log: createLogger({ format, color: false, write: (line) => void lines.push(line) }) })
    t.after(() => runtime.close(100))
    const loop: Record<string, unknown> = { name: 'loop' }
    loop.self = loop
    const shared = { id: 1 }
    await runtime.load(resolveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      log: { access: true },
      routes: [{
        hooks: {
          onRequest: (ctx: HookContext) => {
            ctx.annotate({ size: 10n, loop, twice: [shared, shared], bad: { toJSON: () => { throw new Error('no') } } })
            ctx.log.info('fields', { size: 11n, loop })
          },
        },
        respond: { body: 'ok' },
      }],
    }, 'start'))
    const port = runtime.addresses()[0]!.port
    assert.equal((await http(`http://127.0.0.1:${port}/`)).status, 200)
    await until(() => lines.length === 2, 'two lines')
    assert.equal((await http(`http://127.0.0.1:${port}/`)).status, 200, `${format}: the proxy is alive`)
    if (format === 'json') {
      const [fields, access] = lines.map((l) => JSON.parse(l))
      assert.deepEqual([fields.size, fields.loop], ['11', { name: 'loop', self: '[Circular]' }])
      assert.deepEqual([access.size, access.loop.self, access.twice, access.status], ['10', '[Circular]', [{ id: 1 }, { id: 1 }], 200])
      assert.equal(typeof access.bad, 'string', 'a throwing toJSON: that field alone falls back')
    } else {
      assert.match(lines[0]!, /fields route=routes\[0\] method=GET target=\/ size=11 loop={"name":"loop","self":"\[Circular\]"}$/)
      assert.match(lines[1]!, / 200 \(routes\[0\]\) [\d.]+ms size=10 /)
    }
  }
})

test('a throwing access logger or onLog hook never escapes the response: the failure is reported once', async (t) => {
  const log = collectingLog()
  log.access = () => {
    throw new Error('disk full')
  }
  const runtime = new Runtime({ log })
  t.after(() => runtime.close(100))
  await runtime.load(resolveConfig({
    listen: { host: '127.0.0.1', port: 0 },
    log: { access: true },
    routes: [{ hooks: { onLog: () => { throw new Error('onLog broke') } }, respond: { body: 'ok' } }],
  }, 'start'))
  const url = `http://127.0.0.1:${runtime.addresses()[0]!.port}/`
  for (let i = 0; i < 3; i++) assert.equal((await http(url)).status, 200)
  await until(() => log.lines.filter((l) => /onLog hook/.test(l.message)).length === 3, 'three onLog failures')
  const reported = log.lines.filter((l) => /writing the access log failed/.test(l.message))
  assert.equal(reported.length, 1)
  assert.match(reported[0]!.message, /\(reported once\): Error: disk full/)
})

test('log lines cannot be forged: pretty quotes like logfmt, JSON keeps time/level/msg and the record; ctx.log keeps the request fields', async (t) => {
  const lines: string[] = []
  const log = createLogger({ format: 'pretty', color: false, write: (line) => void lines.push(line) })
  const forged = 'ada\n00:00:00.000 GET /admin 200 1ms user=root'
  log.info('lookup', { user: forged, 'a key': 'v=1', quote: 'say "hi"', esc: '\x1b[31mred', c1: '\x9bX', sep: 'a\u2028b', empty: '', n: 3, ok: true, obj: { a: 'b c' }, arr: [1, 2] })
  assert.equal(lines.length, 1)
  assert.equal(lines[0]!.split('\n').length, 1, 'one line')
  assert.match(lines[0]!, / user="ada\\n00:00:00\.000 GET \/admin 200 1ms user=root" "a key"="v=1" quote="say \\"hi\\"" esc="\\u001b\[31mred" c1="\\u009bX" sep="a\\u2028b" empty="" n=3 ok=true obj="{\\"a\\":\\"b c\\"}" arr=\[1,2\]$/)
  log.access({ method: 'GET', target: '/u', host: 'h', status: 500, route: 'r', upstream: undefined, durationMs: 1, bytes: 0, clientIp: '1.2.3.4', error: 'hook threw: bad\n12:00:00.000 GET / 200', annotations: { user: forged } })
  assert.equal(lines[1]!.split('\n').length, 1, 'one access line')
  assert.match(lines[1]!, /user="ada\\n00:00:00.000 GET \/admin 200 1ms user=root"  hook threw: bad\\n12:00:00.000 GET \/ 200$/)
  // A message over several lines (a stack) keeps its lines, each continuation indented.
  log.error('internal error: Error: x\n    at f (a.ts:1:1)\n12:00:00.000 GET /fake 200')
  assert.deepEqual(lines[2]!.split('\n').slice(1), ['        at f (a.ts:1:1)', '    12:00:00.000 GET /fake 200'])

  const json: string[] = []
  const jlog = createLogger({ format: 'json', write: (line) => void json.push(line) })
  jlog.access({
    method: 'GET', target: '/u', host: 'h', status: 200, route: 'r', upstream: undefined, durationMs: 1, bytes: 2, clientIp: '1.2.3.4', error: undefined,
    annotations: { time: '1999-01-01T00:00:00Z', level: 'error', msg: 'fake', status: 500, user: 'ada' },
  })
  jlog.info('hello', { time: 'then', level: 'error', msg: 'spoofed', user: 'ada' })
  const [access, info] = json.map((l) => JSON.parse(l))
  assert.notEqual(access.time, '1999-01-01T00:00:00Z')
  assert.deepEqual([access.level, access.msg, access.status, access.user], ['info', 'access', 200, 'ada'])
  assert.notEqual(info.time, 'then')
  assert.deepEqual([info.level, info.msg, info.user], ['info', 'hello', 'ada'])
  assert.deepEqual(Object.keys(access).slice(0, 3), ['time', 'level', 'msg'], 'time, level and msg still come first')

  // ctx.log: fields named like the request's own cannot replace them.
  const proxy = await startProxy({
    routes: [{ name: 'real', hooks: { onRequest: (ctx) => void ctx.log.info('lookup', { route: 'spoofed', method: 'DELETE', target: '/admin', requestId: 'x', user: 'ada' }) }, respond: { body: 'ok' } }],
  })
  t.after(() => proxy.close())
  await http(`${proxy.url}/p`)
  assert.deepEqual(proxy.log.lines.find((l) => l.message === 'lookup')?.fields, { route: 'real', method: 'GET', target: '/p', requestId: 'x', user: 'ada' })
})

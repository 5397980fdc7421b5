// The test kit: `import { createTestProxy, mockUpstream } from 'switchyard/testing'`.
// Unit-test a proxy config like application code; see the README ("Testing your config").
export {
  createTestProxy,
  type TestProxy, type TestProxyOptions, type TestRequestInit, type TestResponse, type UpstreamOverride, type LogLine,
} from './create-test-proxy.js'
export { mockUpstream, echoHandler, type MockUpstream, type MockHandler, type MockUpstreamOptions, type ReceivedRequest } from './mock-upstream.js'
export {
  Trace,
  type TraceEvent, type RouteTraceEvent, type NoRouteTraceEvent, type BalancerTraceEvent, type AttemptTraceEvent,
  type CacheTraceEvent, type HookTraceEvent, type ErrorTraceEvent, type EndTraceEvent,
} from './trace.js'
export { duplexPair, MemorySocket } from './duplex-pair.js'

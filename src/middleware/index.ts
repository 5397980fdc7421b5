// Built-in middleware: `import { cors, basicAuth } from 'switchyard/middleware'`.
// Each is a small module returning a Middleware (src/config/hooks.ts); see the README.
export type { Middleware, Hooks, HookContext } from '../config/hooks.js'

export { headers, applyHeaderOps, type HeadersOptions, type HeaderOps } from './headers.js'
export { rewrite, type RewriteOptions } from './rewrite.js'
export { redirect, httpsRedirect, type RedirectOptions, type HttpsRedirectOptions } from './redirect.js'
export { respond, type RespondOptions } from './respond.js'
export { serveStatic, type ServeStaticOptions } from './serve-static.js'
export { cors, type CorsOptions, type OriginOption } from './cors.js'
export { basicAuth, hashPassword, verifyPassword, type BasicAuthOptions, type HashOptions } from './basic-auth.js'
export {
  ipFilter, clientAddress, resolveClientAddress, compileTrust, parseIp, parseCidr, IpList,
  type IpFilterOptions, type TrustProxy,
} from './ip-filter.js'
export {
  rateLimit, memoryRateLimitStore, MemoryRateLimitStore,
  type RateLimitOptions, type RateLimitStore, type RateLimitPolicy, type RateLimitDecision, type RateLimitAlgorithm,
} from './rate-limit.js'
export { redisRateLimitStore, RedisRateLimitStore, type RedisRateLimitStoreOptions } from './rate-limit-redis.js'
export { compression, negotiateEncoding, type CompressionOptions, type Encoding } from './compression.js'
export { bodyLimit, type BodyLimitOptions } from './body-limit.js'
export { requestId, type RequestIdOptions } from './request-id.js'
export { trafficSplit, type TrafficSplitOptions } from './traffic-split.js'
export { mirror, type MirrorOptions, type MirrorStats, type MirrorMiddleware } from './mirror.js'
export { timeout, type TimeoutOptions } from './timeout.js'

/** Maps a failed upstream exchange to the status the client gets and a reason for the log. */

export interface UpstreamFailure { status: 502 | 504; reason: string }

interface ErrorLike { code?: unknown; message?: unknown; cause?: unknown; name?: unknown; reason?: unknown }

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = (err ?? {}) as ErrorLike
  const code = typeof e.code === 'string' ? e.code : ''
  const cause = (e.cause ?? {}) as ErrorLike
  const causeCode = typeof cause.code === 'string' ? cause.code : ''
  // Codes of runtime/upstream-client (errors.ts) and of the forwarder; socket errors as Node raises them.
  switch (code || causeCode) {
    case 'SWITCHYARD_CONNECT_TIMEOUT': return { status: 504, reason: 'upstream connect timeout' }
    case 'SWITCHYARD_HEADERS_TIMEOUT': return { status: 504, reason: 'upstream response header timeout' }
    case 'SWITCHYARD_BODY_TIMEOUT': return { status: 504, reason: 'upstream body idle timeout' }
    case 'SWITCHYARD_TOTAL_TIMEOUT': return { status: 504, reason: 'upstream total timeout' }
    case 'SWITCHYARD_TRY_TIMEOUT': return { status: 504, reason: 'upstream per-try timeout' }
    case 'ECONNREFUSED': return { status: 502, reason: 'upstream connection refused' }
    case 'SWITCHYARD_UPSTREAM_CLOSED': return { status: 502, reason: String(e.message) }
    case 'ECONNRESET': case 'EPIPE':
      return { status: 502, reason: 'upstream reset the connection' }
    // The message is the whole reason ("invalid upstream response (…)", "request body: …").
    case 'SWITCHYARD_BAD_UPSTREAM_RESPONSE': case 'SWITCHYARD_BAD_UPSTREAM_REQUEST': case 'SWITCHYARD_REQUEST_BODY':
      return { status: 502, reason: String(e.message) }
    case 'SWITCHYARD_POOL_CLOSED': return { status: 502, reason: 'upstream connection pool closed' }
    case 'ENOTFOUND': case 'EAI_AGAIN': return { status: 502, reason: 'upstream host not found' }
    case 'EHOSTUNREACH': case 'ENETUNREACH': return { status: 502, reason: 'upstream unreachable' }
    default:
      // node:http's parser on what the upstream sent (tunnels' handshakes): its reason says what was wrong.
      if (code.startsWith('HPE_')) return { status: 502, reason: `invalid upstream response (${String(e.reason ?? e.message)})` }
      return { status: 502, reason: `upstream error: ${code ? `${code} ` : ''}${String(e.message ?? err)}` }
  }
}

/** An Error with a code, for failures the proxy itself decides (timeouts). */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

/** Maps a failed upstream exchange to the status the client gets and a reason for the log. */

export interface UpstreamFailure { status: 502 | 504; reason: string }

interface ErrorLike { code?: unknown; message?: unknown; cause?: unknown; name?: unknown }

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const e = (err ?? {}) as ErrorLike
  const code = typeof e.code === 'string' ? e.code : ''
  const cause = (e.cause ?? {}) as ErrorLike
  const causeCode = typeof cause.code === 'string' ? cause.code : ''
  switch (code || causeCode) {
    case 'UND_ERR_CONNECT_TIMEOUT': return { status: 504, reason: 'upstream connect timeout' }
    case 'UND_ERR_HEADERS_TIMEOUT': return { status: 504, reason: 'upstream response header timeout' }
    case 'SWITCHYARD_TOTAL_TIMEOUT': return { status: 504, reason: 'upstream total timeout' }
    case 'SWITCHYARD_TRY_TIMEOUT': return { status: 504, reason: 'upstream per-try timeout' }
    case 'ECONNREFUSED': return { status: 502, reason: 'upstream connection refused' }
    case 'UND_ERR_SOCKET':
      // undici's own verdicts on what the upstream sent (a 1xx it cannot handle) vs a plain close.
      if (e.message === 'bad response' || e.message === 'bad upgrade') {
        return { status: 502, reason: `invalid upstream response (unexpected 1xx: ${String(e.message)})` }
      }
      return { status: 502, reason: 'upstream closed the connection before responding' }
    case 'ECONNRESET': case 'EPIPE':
      return { status: 502, reason: 'upstream closed the connection before responding' }
    case 'UND_ERR_BODY_TIMEOUT': return { status: 504, reason: 'upstream body idle timeout' }
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return { status: 502, reason: 'invalid upstream response (body length does not match Content-Length)' }
    case 'UND_ERR_HEADERS_OVERFLOW': return { status: 502, reason: 'invalid upstream response (head too large)' }
    case 'SWITCHYARD_BAD_UPSTREAM_RESPONSE': return { status: 502, reason: String(e.message) }
    case 'ERR_ASSERTION': return { status: 502, reason: 'invalid upstream response (status line)' }
    case 'ENOTFOUND': case 'EAI_AGAIN': return { status: 502, reason: 'upstream host not found' }
    case 'EHOSTUNREACH': case 'ENETUNREACH': return { status: 502, reason: 'upstream unreachable' }
    case 'UND_ERR_INFO': case 'HPE_INVALID_CONSTANT': case 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE':
      return { status: 502, reason: `invalid upstream response (${String(e.message)})` }
    default:
      if (code.startsWith('HPE_') || e.name === 'HTTPParserError') {
        return { status: 502, reason: `invalid upstream response (${String(e.message).replace(/^Response does not match the HTTP\/1\.1 protocol \((.*)\)$/, '$1')})` }
      }
      return { status: 502, reason: `upstream error: ${code ? `${code} ` : ''}${String(e.message ?? err)}` }
  }
}

/** An Error with a code, for failures the proxy itself decides (timeouts). */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

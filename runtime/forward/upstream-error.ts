/** Maps a failed upstream exchange to the status the client gets and a reason for the log. */

export interface UpstreamFailure { status: 502 | 504; reason: string }

interface ErrorLike { code?: unknown; message?: unknown; cause?: unknown }

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
    case 'ECONNRESET': case 'UND_ERR_SOCKET': case 'EPIPE':
      return { status: 502, reason: 'upstream closed the connection before responding' }
    case 'ENOTFOUND': case 'EAI_AGAIN': return { status: 502, reason: 'upstream host not found' }
    case 'EHOSTUNREACH': case 'ENETUNREACH': return { status: 502, reason: 'upstream unreachable' }
    case 'UND_ERR_INFO': case 'HPE_INVALID_CONSTANT': case 'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE':
      return { status: 502, reason: `invalid upstream response (${String(e.message)})` }
    default:
      if (code.startsWith('HPE_')) return { status: 502, reason: `invalid upstream response (${code})` }
      return { status: 502, reason: `upstream error: ${code ? `${code} ` : ''}${String(e.message ?? err)}` }
  }
}

/** An Error with a code, for failures the proxy itself decides (timeouts). */
export function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

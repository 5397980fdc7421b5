/**
 * How much a client or upstream socket buffers in JS before a write reports backpressure (and
 * before an unread request body pauses its socket). Node's default is 16 KiB, smaller than one
 * 64 KiB socket read: every chunk of a large body written to a socket that could not take it
 * at once paused the other side and waited for 'drain'. 128 KiB lets one read pass through
 * without that. Measured in issue #6 (`npm run bench -- --only 1m-download,64k,1m-upload
 * --proxies nginx,switchyard --rounds 3 --duration 4`): 64 KiB downloads 87 → 77 µs of CPU per
 * request, 1 MiB uploads 977 → 779 µs (0.73× → 0.84× nginx). It is a threshold, not an
 * allocation: an idle connection costs nothing more; a slow reader holds at most about this
 * much plus one read (nginx holds up to its proxy_buffers).
 */
export const STREAM_HIGH_WATER_MARK = 128 * 1024

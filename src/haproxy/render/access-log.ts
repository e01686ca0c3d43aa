// The access log's part of the configuration (src/accesslog/ reads what it writes): HAProxy writes one line per
// request to its standard output, which Portico's supervisor holds, and a copy into a ring buffer of its own memory,
// which Portico reads only to recover lines standard output dropped (docs/architecture.md, "The access log"). Nothing
// of it is written while the log is off.
import { CAPTURED_HEADERS, HAPROXY_LINE_MAX, haproxyLogFormat, REQUEST_ID_CAPTURE_LEN } from '../../accesslog/wire.js';

export const ACCESS_LOG_RING = 'portico_access';
/** The ring's size: about 16,000 lines of 500 bytes, the newest kept. Per worker process. */
const RING_BYTES = 8 << 20;

/**
 * `global`: the targets. Standard output is written as each request ends, without blocking: a line that does not fit
 * the socket's buffer (about 200 kB, some 300 lines, while Portico does not read) is dropped and counted (`show info`:
 * DroppedLogs), and Portico then finds it in the ring. Writing into the ring is a copy in memory: no forwarder, no
 * system call.
 */
export function accessLogGlobalLines(on: boolean): string[] {
  return on ? [`log stdout len ${HAPROXY_LINE_MAX} format raw daemon`, `log ring@${ACCESS_LOG_RING} len ${HAPROXY_LINE_MAX} format raw daemon`] : [];
}

/** The ring, read with `show events` (a line per message: `format raw`). */
export function accessLogRingSection(on: boolean): string[] {
  return on ? [`ring ${ACCESS_LOG_RING}`, '  format raw', `  maxlen ${HAPROXY_LINE_MAX}`, `  size ${RING_BYTES}`] : [];
}

/**
 * A listener frontend's lines. Header fetches are gone when the line is written (at the end of the stream), so Host
 * and User-Agent are captured as the request arrives, and X-Request-ID once Portico set it (`requestIdRules`).
 * `dontlognull`: a connection that sent nothing (the supervisor's probe each second, a port scan) makes no line.
 */
export function accessLogFrontendLines(on: boolean): string[] {
  if (!on) return [];
  return [
    '# The access log (src/accesslog/wire.ts): one line per request to HAProxy\'s standard output and the ring above.',
    'log global',
    'option dontlognull',
    ...CAPTURED_HEADERS.map(([name, len]) => `capture request header ${name} len ${len}`),
    `log-format ${haproxyLogFormat()}`,
  ];
}

/** After the request id lines: the X-Request-ID the backend receives, the client's or the one Portico made. */
export function accessLogRequestIdRules(on: boolean): string[] {
  return on ? [`http-request capture req.hdr(x-request-id) len ${REQUEST_ID_CAPTURE_LEN}`] : [];
}

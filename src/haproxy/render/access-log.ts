// The access log's part of the configuration (src/accesslog/ reads what it writes): HAProxy writes one line per
// request into a ring buffer of each worker's memory, a copy with no system call, and Portico reads every worker's
// ring as it fills, in batches, over one runtime API session per worker (`show events <ring> -w`,
// src/accesslog/ring-reader.ts; docs/architecture.md, "The access log"). Nothing of it is written while the log is off.
import { CAPTURED_HEADERS, HAPROXY_LINE_MAX, haproxyLogFormat, REQUEST_ID_CAPTURE_LEN } from '../../accesslog/wire.js';

export const ACCESS_LOG_RING = 'portico_access';
/** The ring's size by default: about 25,000 lines of 330 bytes. Per worker process (`--access-log-buffer`). */
export const ACCESS_LOG_RING_BYTES = 8 << 20;

/**
 * `global`: the target, the ring. Its reader holds its place in it: while Portico has not read a line, HAProxy keeps
 * it and drops new ones instead (announcing "N events dropped" in the ring, which Portico counts), so a stalled
 * Portico loses the newest lines, never the ones it was about to read. The runtime API's idle timeout (10 s by
 * default) would end a reading session whenever no request came for that long, and the next session reads the whole
 * ring again: the longest HAProxy has (24 days) instead. Only Portico can open the socket (mode 600 in its state
 * directory), and it closes every other session it opens.
 */
export function accessLogGlobalLines(on: boolean): string[] {
  return on ? [`log ring@${ACCESS_LOG_RING} len ${HAPROXY_LINE_MAX} format raw daemon`, 'stats timeout 24d'] : [];
}

/** The ring, read with `show events` (a line per message: `format raw`). */
export function accessLogRingSection(on: boolean, bytes = ACCESS_LOG_RING_BYTES): string[] {
  return on ? [`ring ${ACCESS_LOG_RING}`, '  format raw', `  maxlen ${HAPROXY_LINE_MAX}`, `  size ${bytes}`] : [];
}

/**
 * A listener frontend's lines. Header fetches are gone when the line is written (at the end of the stream), so Host
 * and User-Agent are captured as the request arrives, and X-Request-ID once Portico set it (`requestIdRules`).
 * `dontlognull`: a connection that sent nothing (the supervisor's probe each second, a port scan) makes no line.
 */
export function accessLogFrontendLines(on: boolean): string[] {
  if (!on) return [];
  return [
    '# The access log (src/accesslog/wire.ts): one line per request into the ring above.',
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

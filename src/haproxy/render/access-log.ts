// The access log's part of the configuration (src/accesslog/ reads what it writes): HAProxy writes one line per
// request into a ring buffer of its own memory, and forwards the ring's lines over a unix socket Portico listens on
// (docs/architecture.md, "The access log", says why not its standard output). Nothing of it is written while the log
// is off.
import { ACCESS_LOG_SOCKET, CAPTURED_HEADERS, HAPROXY_LINE_MAX, haproxyLogFormat, REQUEST_ID_CAPTURE_LEN } from '../../accesslog/wire.js';

const RING = 'portico_access';
/** The ring's size: about 16,000 lines of 500 bytes, held while Portico does not read (a pause, a busy moment); once
 * it is full, new lines are dropped and counted (`show info`: DroppedLogs). Per worker process. */
const RING_BYTES = 8 << 20;

/**
 * `global`: the targets. Each line goes to both: HAProxy's standard output (written as the request ends, so a worker
 * that stops after a reload has written all of its lines; about 200 kB of socket buffer while Portico does not read)
 * and the ring (which holds far more, but whose forwarder a stopping worker closes at once, losing its last lines).
 * Portico keeps the first copy of each (wire.ts's key). Neither write ever blocks HAProxy: a line that fits neither
 * buffer is dropped and counted (`show info`: DroppedLogs).
 */
export function accessLogGlobalLines(on: boolean): string[] {
  return on ? [`log stdout len ${HAPROXY_LINE_MAX} format raw daemon`, `log ring@${RING} len ${HAPROXY_LINE_MAX} format raw daemon`] : [];
}

/** The ring and where it forwards to: a line per message (`format raw`), to Portico's socket in the state directory.
 * The forwarder reconnects on its own when Portico restarts its listener. */
export function accessLogRingSection(on: boolean, stateDir: string): string[] {
  if (!on) return [];
  return [
    `ring ${RING}`,
    '  format raw',
    `  maxlen ${HAPROXY_LINE_MAX}`,
    `  size ${RING_BYTES}`,
    '  timeout connect 1s',
    '  timeout server 1h',
    `  server portico unix@${stateDir}/${ACCESS_LOG_SOCKET}`,
  ];
}

/**
 * A listener frontend's lines. Header fetches are gone when the line is written (at the end of the stream), so Host
 * and User-Agent are captured as the request arrives, and X-Request-ID once Portico set it (`requestIdRules`).
 * `dontlognull`: a connection that sent nothing (the supervisor's probe each second, a port scan) makes no line.
 */
export function accessLogFrontendLines(on: boolean): string[] {
  if (!on) return [];
  return [
    '# The access log (src/accesslog/wire.ts): one line per request into the ring above, which forwards it to Portico.',
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

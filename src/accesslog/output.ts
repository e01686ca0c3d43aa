// A record as Portico's log line: JSON (the default) or text. Every line is whole and at most LINE_MAX bytes, so that
// one write puts it on standard output in one piece, never split by another writer (pino's lines are written whole).
import type { RequestRecord } from './record.js';

export type AccessLogFormat = 'json' | 'text';
/** PIPE_BUF: a write of at most this many bytes to a pipe is never interleaved with another. */
export const LINE_MAX = 4096;
/** What a client string is cut to when a line would be longer (escaped control bytes take six characters each). */
const CUT = 64;

const CLIENT_FIELDS = ['host', 'path', 'query', 'userAgent', 'sni', 'requestId', 'method', 'protocol'] as const;

function jsonLine(r: RequestRecord): string {
  return `${JSON.stringify({
    time: r.time,
    msg: 'request',
    component: 'access',
    client: r.client,
    scheme: r.scheme,
    method: r.method,
    host: r.host,
    path: r.path,
    query: r.query,
    protocol: r.protocol,
    status: r.status,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    connectMs: r.connectMs,
    responseMs: r.responseMs,
    totalMs: r.totalMs,
    namespace: r.namespace,
    ingress: r.ingress,
    rule: r.rule,
    service: r.service,
    section: r.section,
    endpoint: r.endpoint,
    route: r.route,
    tlsVersion: r.tlsVersion,
    sni: r.sni,
    requestId: r.requestId,
    userAgent: r.userAgent,
    termination: r.termination,
  })}\n`;
}

function textLine(r: RequestRecord): string {
  const q = (s: string): string => JSON.stringify(s);
  const target = `${r.method} ${r.scheme}://${r.host}${r.path}${r.query ? `?${r.query}` : ''} ${r.protocol}`;
  return `${r.time} ${r.client} ${q(target)} ${r.status} ${r.bytesOut} ${r.totalMs}ms ${r.service || r.section || '-'} ${r.endpoint || '-'} ${r.ingress ? `${r.namespace}/${r.ingress}` : '-'} ${r.requestId ? q(r.requestId) : '-'} ${r.termination} ${q(r.userAgent)}\n`;
}

/** The line of a record; a hostile one is shortened to fit, its client strings cut and the cut marked `…`. */
export function formatRecord(r: RequestRecord, format: AccessLogFormat): string {
  const render = format === 'json' ? jsonLine : textLine;
  const line = render(r);
  if (Buffer.byteLength(line) <= LINE_MAX) return line;
  const cut = { ...r };
  for (const k of CLIENT_FIELDS) if (cut[k].length > CUT) cut[k] = `${cut[k].slice(0, CUT)}…`;
  return render(cut);
}

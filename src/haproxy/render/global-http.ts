// Render side of the settings ConfigMap's HTTP and TLS tuning keys (translate/settings/http.ts, tls-tuning.ts):
// global tuning lines, the HTTPS bind's ALPN and cipher preference, `http-reuse`, and the controller-wide header
// rules. Nothing is written while its key is unset, so a configuration without them is the flags' alone.
//
// Header names are configuration text (one rule per name, re-checked here); values never are: each value is cut at
// its nginx variables, its literal pieces are map data (`maps/global-headers.map`, percent-encoded, decoded by
// url_dec), and each variable is a sample from a fixed table. Response headers are written after the backend
// answered, when the request's headers are gone: the variables they use are saved in transaction variables while the
// request is read.
import type { GlobalSettings } from '../../model/types.js';
import { assertInt } from './edge.js';
import { encodeValue, headerNameWord } from './policy/snippets.js';

export const GLOBAL_HEADERS_MAP = 'maps/global-headers.map';
export const DH_PARAM_FILE = 'certs/dhparam.pem';
/** translate's canonical form of ssl-dh-param's parameters (settings/dh-param.ts), checked again. */
const DH_PEM = /^-----BEGIN DH PARAMETERS-----\n([A-Za-z0-9+/=]{1,64}\n){1,32}-----END DH PARAMETERS-----\n$/;

/** A literal piece of a value, or an nginx variable (by name, as translate wrote it: `${name}`). */
type Piece = { text: string } | { variable: string };

function pieces(template: string): Piece[] {
  const out: Piece[] = [];
  let at = 0;
  for (const m of template.matchAll(/\$\{([a-z0-9_]{1,80})\}/g)) {
    if (m.index > at) out.push({ text: template.slice(at, m.index) });
    out.push({ variable: m[1]! });
    at = m.index + m[0].length;
  }
  if (at < template.length) out.push({ text: template.slice(at) });
  if (out.some((p) => 'text' in p && p.text.includes('$'))) throw new Error(`render: refusing header template ${JSON.stringify(template.slice(0, 80))}`);
  return out;
}

const OPEN_NAME = /^[a-z0-9_]{1,64}$/;

/** The listener a rule is written for: samples of the scheme and port are its constants. */
interface Listener {
  tls: boolean;
  port: number;
}

/** An nginx variable as an HAProxy sample of the request (translate allows these and no others). */
function requestSample(variable: string, l: Listener): string {
  const fixed: Record<string, string> = {
    scheme: `str(${l.tls ? 'https' : 'http'})`,
    server_port: `int(${assertInt(l.port, 'port', 1)})`,
    remote_addr: 'var(sess.client)',
    host: 'req.fhdr(host),lower,field(1,:)',
    http_host: 'req.fhdr(host)',
    request_uri: 'capture.req.uri',
    uri: 'path',
    args: 'query',
    query_string: 'query',
    request_method: 'method',
    request_id: 'req.fhdr(x-request-id)',
  };
  if (Object.hasOwn(fixed, variable)) return fixed[variable]!;
  const m = /^(http|cookie|arg)_(.*)$/.exec(variable);
  if (!m || !OPEN_NAME.test(m[2]!)) throw new Error(`render: refusing nginx variable ${JSON.stringify(variable)}`);
  if (m[1] === 'http') return `req.fhdr(${m[2]!.replace(/_/g, '-')})`;
  return m[1] === 'cookie' ? `req.cook(${m[2]})` : `url_param(${m[2]})`;
}

/** Variables a response rule can read without saving them: constants, the session's client, the captured line. */
const READABLE_IN_RESPONSE: ReadonlySet<string> = new Set(['scheme', 'server_port', 'remote_addr', 'request_uri', 'request_method']);
const RESPONSE_SAMPLES: Record<string, string> = { request_uri: 'capture.req.uri', request_method: 'capture.req.method' };
const savedVar = (variable: string): string => `txn.gh_${variable}`;

type Kind = 'a' | 'q';

function headersOf(g: GlobalSettings | undefined, kind: Kind): [name: string, template: string][] {
  return Object.entries((kind === 'a' ? g?.addHeaders : g?.proxySetHeaders) ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([n, t]) => [headerNameWord(n, false), t]);
}

const mapKey = (kind: Kind, name: string, i: number): string => `${kind}.${name}.${i}`;
/** A value with literal text is never empty; one of variables alone may be. */
const hasText = (template: string): boolean => pieces(template).some((p) => 'text' in p);

/** The files the settings add: the map of the headers' literal pieces (while a header has one), ssl-dh-param's parameters. */
export function globalSettingsFiles(g: GlobalSettings | undefined): Map<string, string> {
  const lines: string[] = [];
  for (const kind of ['a', 'q'] as const)
    for (const [name, template] of headersOf(g, kind)) pieces(template).forEach((p, i) => 'text' in p && lines.push(`${mapKey(kind, name, i)} ${encodeValue(p.text)}\n`));
  const files = new Map<string, string>(lines.length > 0 ? [[GLOBAL_HEADERS_MAP, lines.join('')]] : []);
  if (g?.sslDhParam !== undefined) files.set(DH_PARAM_FILE, checkedDhParam(g.sslDhParam));
  return files;
}

function checkedDhParam(pem: string): string {
  if (!DH_PEM.test(pem)) throw new Error('render: refusing DH parameters: not PEM as Portico writes it');
  return pem;
}

/** A header's value as a log-format string: map lookups for the literal pieces, samples for the variables. */
function format(kind: Kind, name: string, template: string, mapFile: string, sample: (variable: string) => string): string {
  return pieces(template)
    .map((p, i) => ('text' in p ? `%[str(${mapKey(kind, name, i)}),map_str(${mapFile}),url_dec]` : `%[${sample(p.variable)}]`))
    .join('');
}

/** The variables add-headers' values read, saved while the request is here: first thing, so that HAProxy's own
 * answers (a 404, a redirect) carry them too. */
export function globalRequestSaveRules(g: GlobalSettings | undefined, l: Listener): string[] {
  const saved = new Set<string>();
  for (const [, template] of headersOf(g, 'a')) for (const p of pieces(template)) if ('variable' in p && !READABLE_IN_RESPONSE.has(p.variable)) saved.add(p.variable);
  if (saved.size === 0) return [];
  return ["# add-headers: the request's values its headers read, kept for the response.", ...[...saved].sort().map((v) => `http-request set-var(${savedVar(v)}) ${requestSample(v, l)}`)];
}

/** proxy-set-headers' headers (set, or removed when empty), before the routes' own request headers, which replace
 * them. */
export function globalRequestHeaderRules(g: GlobalSettings | undefined, mapFile: string, l: Listener): string[] {
  const out: string[] = [];
  const set = headersOf(g, 'q');
  if (set.length > 0) out.push("# proxy-set-headers: the settings ConfigMap's request headers, sent to every backend.");
  for (const [name, template] of set) {
    if (template === '') {
      out.push(`http-request del-header ${name}`);
      continue;
    }
    out.push(`http-request set-header ${name} "${format('q', name, template, mapFile, (v) => requestSample(v, l))}"`);
    // nginx sends no header whose value came out empty (a variable of a header the client did not send).
    if (!hasText(template)) out.push(`http-request del-header ${name} if !{ req.fhdr(${name}) -m len gt 0 }`);
  }
  return out;
}

/** Response rules of one listener: hide-headers on backends' responses, then add-headers on every response. */
export function globalResponseHeaderRules(g: GlobalSettings | undefined, mapFile: string, l: Listener): string[] {
  const out: string[] = [];
  const hidden = (g?.hideHeaders ?? []).map((n) => headerNameWord(n, false));
  if (hidden.length > 0) out.push("# hide-headers: removed from backends' responses (nginx's proxy_hide_header).");
  for (const name of hidden) out.push(`http-response del-header ${name}`);
  const add = headersOf(g, 'a');
  if (add.length > 0) out.push("# add-headers: the settings ConfigMap's response headers, on every response (HAProxy's own answers too).");
  const sample = (v: string): string => (v === 'scheme' || v === 'server_port' || v === 'remote_addr' ? requestSample(v, l) : (RESPONSE_SAMPLES[v] ?? `var(${savedVar(v)})`));
  for (const [name, template] of add) {
    if (template === '') {
      out.push(`http-after-response del-header ${name}`);
      continue;
    }
    out.push(`http-after-response set-header ${name} "${format('a', name, template, mapFile, sample)}"`);
    if (!hasText(template)) out.push(`http-after-response del-header ${name} if !{ res.fhdr(${name}) -m len gt 0 }`);
  }
  return out;
}

/** Lines of the global section: header buffer size, HTTP/2 streams, the TLS session cache, key exchange groups, DH
 * parameters (`filesDir`: where the configuration's files are). */
export function globalTuningLines(g: GlobalSettings | undefined, filesDir = ''): string[] {
  const out: string[] = [];
  if (g?.headerBytes !== undefined) {
    // HAProxy keeps tune.maxrewrite (1 KiB) of every buffer for its own header rewrites: the buffer holds the
    // request's headers and that reserve. HTTP/2 needs at least 16 KiB, HAProxy's default.
    const bytes = assertInt(g.headerBytes, 'header bytes', 1);
    if (bytes > 256 * 1024) throw new Error(`render: refusing header bytes ${bytes}`);
    if (bytes + 1024 > 16384) out.push(`tune.bufsize ${Math.ceil((bytes + 1024) / 1024) * 1024}`);
  }
  if (g?.http2MaxConcurrentStreams !== undefined) out.push(`tune.h2.max-concurrent-streams ${assertIntAtMost(g.http2MaxConcurrentStreams, 1, 10_000, 'HTTP/2 streams')}`);
  if (g?.sslSessionCache === false) out.push('tune.ssl.cachesize 0');
  else if (g?.sslSessionCacheSessions !== undefined) out.push(`tune.ssl.cachesize ${assertIntAtMost(g.sslSessionCacheSessions, 1, 1024 ** 2 * 1.5, 'TLS session cache')}`);
  if (g?.sslSessionTimeout !== undefined) out.push(`tune.ssl.lifetime ${assertIntAtMost(g.sslSessionTimeout, 1, 7 * 86_400, 'TLS session lifetime')}`);
  if (g?.sslCurves !== undefined) {
    if (!/^[A-Za-z0-9_-]{1,32}(:[A-Za-z0-9_-]{1,32}){0,15}$/.test(g.sslCurves)) throw new Error(`render: refusing curves ${JSON.stringify(g.sslCurves)}`);
    out.push(`ssl-default-bind-curves ${g.sslCurves}`);
  }
  if (g?.sslDhParam !== undefined) {
    checkedDhParam(g.sslDhParam);
    out.push(`ssl-dh-param-file ${filesDir}/${DH_PARAM_FILE}`);
  }
  return out;
}

function assertIntAtMost(n: number, min: number, max: number, what: string): number {
  if (assertInt(n, what, min) > max) throw new Error(`render: refusing ${what} ${n}: at most ${max}`);
  return n;
}

/** What the HTTPS bind line adds: its ALPN (use-http2). */
export function httpsBindOptions(g: GlobalSettings | undefined): string {
  return ` alpn ${g?.http2 === false ? 'http/1.1' : 'h2,http/1.1'}`;
}

/** Lines of the defaults section: upstream-keepalive-connections 0 stops backend connection reuse. */
export function globalDefaultsLines(g: GlobalSettings | undefined): string[] {
  return g?.upstreamKeepalive === false ? ['http-reuse never'] : [];
}

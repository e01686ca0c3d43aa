// ingress-nginx's access and error logs. Portico's access log (src/accesslog/: HAProxy's line per request, written by
// Portico to its standard output, `--access-log`) honours the keys that choose which requests are logged; they go to
// GlobalSettings.accessLog, which Portico reads per record, so a change is never a reload. Keys that shape the line or
// send it elsewhere (a file, syslog, nginx's variables) are read, checked, and reported with G4.
import { bool, cidrList, integer, oneOf } from '../annotations/values.js';
import { setting } from './registry.js';
import type { Setting } from './registry.js';
import { printable, UNSUPPORTED } from './not-in-haproxy.js';
import type { ValueGrammar } from '../annotations/values.js';
import type { AccessLogSettings, GlobalSettings } from '../../model/types.js';

const NO_ACCESS_LOG = "Portico's access log is one JSON (or text, `--access-log text`) line per request on its standard output, with fields of its own (README.md)";

/** A key that shapes or enables the access log: reported whenever its value asks for a log. */
function accessLog<T>(key: string, grammar: ValueGrammar<T>, dflt: string, what: string, asks: (value: T) => boolean): Setting {
  return setting({
    key,
    grammar,
    set: () => undefined,
    notes: (v) => (asks(v) ? [`${key} has no effect: ${NO_ACCESS_LOG}`] : []),
    doc: { default: dflt, what, differences: `${NO_ACCESS_LOG}: reported (G4) when the value asks for a log.`, live: 'none', status: UNSUPPORTED },
  });
}

/** Portico's access-log settings, created on first use. */
function accessLogOf(g: GlobalSettings): AccessLogSettings {
  return (g.accessLog ??= {});
}

/** ingress-nginx's default log-format-upstream, variable by variable: the field of Portico's line that holds it. */
const UPSTREAM_VARIABLES = [
  '$remote_addr → `client`',
  '$time_local → `time`',
  '$request → `method`, `path`, `query`, `protocol`',
  '$status → `status`',
  '$body_bytes_sent → `bytesOut` (headers included)',
  '$http_user_agent → `userAgent`',
  '$request_length → `bytesIn`',
  '$request_time → `totalMs`',
  '$proxy_upstream_name → `service` (and `section`)',
  '$upstream_addr → `endpoint`',
  '$upstream_response_time → `responseMs`',
  '$req_id → `requestId`',
  '$host → `host`',
  '$namespace, $ingress_name, $service_name → `namespace`, `ingress`, `service`',
].join(', ');

const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
const FORMAT = printable(16_384);
const PATH = printable(4096);

export const LOGGING_SETTINGS: readonly Setting[] = [
  accessLog('access-log-path', PATH, '/var/log/nginx/access.log', 'Where the access log is written.', (v) => v !== ''),
  accessLog('http-access-log-path', PATH, 'none (access-log-path)', 'Where the access log of HTTP requests is written.', (v) => v !== ''),
  accessLog('stream-access-log-path', PATH, 'none (access-log-path)', 'Where the access log of TCP and UDP services is written.', (v) => v !== ''),
  accessLog('access-log-params', printable(1024), 'none', "Parameters of nginx's access_log (buffer, flush, gzip).", (v) => v !== ''),
  setting({
    key: 'log-format-upstream',
    grammar: FORMAT,
    set: () => undefined,
    notes: (v) => (v !== '' ? [`log-format-upstream has no effect: ${NO_ACCESS_LOG}`] : []),
    doc: {
      default: "ingress-nginx's upstream format",
      what: 'The format of each access log line of an HTTP request.',
      differences: `${NO_ACCESS_LOG}: a format is reported (G4). nginx's variables and the fields that hold the same: ${UPSTREAM_VARIABLES}; no field for $remote_user, $http_referer, $proxy_alternative_upstream_name, $upstream_response_length and $upstream_status.`,
      live: 'none',
      status: UNSUPPORTED,
    },
  }),
  accessLog('log-format-stream', FORMAT, "ingress-nginx's stream format", 'The format of each access log line of a TCP or UDP connection.', (v) => v !== ''),
  accessLog('log-format-escape-json', bool, 'false', 'Escapes the access log for JSON.', (b) => b),
  accessLog('log-format-escape-none', bool, 'false', 'Escapes nothing in the access log.', (b) => b),
  setting({
    key: 'enable-access-log-for-default-backend',
    grammar: bool,
    set: (g, b) => (accessLogOf(g).defaultBackend = b),
    doc: {
      default: 'false',
      what: 'Logs the requests no Ingress rule matched (the 404 of the default backend). Live: Portico reads it per request, no reload.',
      differences: "Portico's default backend is its own 404 for a request no route matched; a request served by an Ingress's `defaultBackend` (the catch-all) is logged either way, where ingress-nginx's default server leaves it out too.",
      live: 'none',
    },
  }),
  accessLog('enable-auth-access-log', bool, 'false', 'Logs the subrequests of external authentication.', (b) => b),
  setting({
    key: 'skip-access-log-urls',
    grammar: { describe: 'request URIs separated by commas', parse: (raw) => printable(16_384).parse(raw) },
    set: (g, v) => {
      const urls = v.split(',').map((u) => u.trim()).filter((u) => u !== '');
      if (urls.length > 0) accessLogOf(g).skipUrls = urls;
    },
    doc: {
      default: 'none',
      what: "Request URIs left out of the access log: a request whose path and query, as sent, equal one of them exactly (nginx's `$request_uri` map). Live: Portico reads it per request, no reload.",
      live: 'none',
    },
  }),
  accessLog('enable-syslog', bool, 'false', 'Sends the access and error logs to a syslog server.', (b) => b),
  accessLog('syslog-host', printable(256), 'none', 'The syslog server.', (v) => v !== ''),
  accessLog('syslog-port', integer(1, 65_535), '514', "The syslog server's port.", () => false),
  setting({
    key: 'disable-access-log',
    grammar: bool,
    set: (g, b) => (b ? (accessLogOf(g).disabled = true) : undefined),
    doc: { default: 'false', what: 'Turns the access log off (`--access-log off` does too, and stops HAProxy writing the lines at all). Live: Portico reads it per request, no reload.', differences: 'HAProxy still reports each request to Portico, which writes nothing: the request records other parts of Portico read (metrics) keep coming, as ingress-nginx\'s metrics do.', live: 'none' },
  }),
  setting({
    key: 'disable-http-access-log',
    grammar: bool,
    set: (g, b) => (b ? (accessLogOf(g).disabled = true) : undefined),
    doc: { default: 'false', what: 'Turns the access log of HTTP requests off: the same as disable-access-log, Portico having no TCP or UDP services.', live: 'none' },
  }),
  setting({ key: 'disable-stream-access-log', grammar: bool, set: () => undefined, doc: { default: 'false', what: 'Turns the access log of TCP and UDP services off.', noEffect: 'Portico has no TCP or UDP services (ssl-passthrough connections are not logged).', live: 'none' } }),
  setting({
    key: 'error-log-path',
    grammar: PATH,
    set: () => undefined,
    doc: { default: '/var/log/nginx/error.log', what: "Where nginx's error log is written.", noEffect: "HAProxy's alerts and Portico's own findings go to Portico's log (standard error, `--log-format`), which the container runtime collects.", live: 'none' },
  }),
  setting({
    key: 'error-log-level',
    grammar: oneOf(LOG_LEVELS),
    set: () => undefined,
    doc: { default: 'notice', what: "The level of nginx's error log.", noEffect: "Portico's own log has `--log-level`; HAProxy's alerts and warnings reach that log whatever this key says.", live: 'none' },
  }),
  setting({
    key: 'debug-connections',
    grammar: cidrList,
    set: () => undefined,
    doc: { default: 'none', what: "nginx's debug_connection: debug logs for these clients.", noEffect: "HAProxy has no per-client debug log; Portico's `--log-level debug` logs what Portico does.", live: 'none' },
  }),
];

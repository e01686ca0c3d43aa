// ingress-nginx's access and error logs. Portico writes no access log yet (issue 13 builds it): a key that asks for
// one is read, its value checked, and reported with G4 so that nobody believes requests are logged; the issue can
// switch them on from these entries. Keys that turn a log off ask for what already happens.
import { bool, cidrList, integer, oneOf } from '../annotations/values.js';
import { setting } from './registry.js';
import type { Setting } from './registry.js';
import { printable, UNSUPPORTED } from './not-in-haproxy.js';
import type { ValueGrammar } from '../annotations/values.js';

const NO_ACCESS_LOG = 'Portico writes no access log yet (issue 13 builds it)';

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

/** A key that turns a log off: nothing is logged either way. */
function logOff(key: string, dflt: string, what: string): Setting {
  return setting({ key, grammar: bool, set: () => undefined, doc: { default: dflt, what, noEffect: `${NO_ACCESS_LOG}, so there is nothing to turn off.`, live: 'none' } });
}

const LOG_LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
const FORMAT = printable(16_384);
const PATH = printable(4096);

export const LOGGING_SETTINGS: readonly Setting[] = [
  accessLog('access-log-path', PATH, '/var/log/nginx/access.log', 'Where the access log is written.', (v) => v !== ''),
  accessLog('http-access-log-path', PATH, 'none (access-log-path)', 'Where the access log of HTTP requests is written.', (v) => v !== ''),
  accessLog('stream-access-log-path', PATH, 'none (access-log-path)', 'Where the access log of TCP and UDP services is written.', (v) => v !== ''),
  accessLog('access-log-params', printable(1024), 'none', "Parameters of nginx's access_log (buffer, flush, gzip).", (v) => v !== ''),
  accessLog('log-format-upstream', FORMAT, "ingress-nginx's upstream format", 'The format of each access log line of an HTTP request.', (v) => v !== ''),
  accessLog('log-format-stream', FORMAT, "ingress-nginx's stream format", 'The format of each access log line of a TCP or UDP connection.', (v) => v !== ''),
  accessLog('log-format-escape-json', bool, 'false', 'Escapes the access log for JSON.', (b) => b),
  accessLog('log-format-escape-none', bool, 'false', 'Escapes nothing in the access log.', (b) => b),
  accessLog('enable-access-log-for-default-backend', bool, 'false', 'Logs the requests the default backend answers.', (b) => b),
  accessLog('enable-auth-access-log', bool, 'false', 'Logs the subrequests of external authentication.', (b) => b),
  accessLog(
    'skip-access-log-urls',
    { describe: 'paths separated by commas', parse: (raw) => printable(16_384).parse(raw) },
    'none',
    'Request paths left out of the access log.',
    (v) => v !== '',
  ),
  accessLog('enable-syslog', bool, 'false', 'Sends the access and error logs to a syslog server.', (b) => b),
  accessLog('syslog-host', printable(256), 'none', 'The syslog server.', (v) => v !== ''),
  accessLog('syslog-port', integer(1, 65_535), '514', "The syslog server's port.", () => false),
  logOff('disable-access-log', 'false', 'Turns the access log off.'),
  logOff('disable-http-access-log', 'false', 'Turns the access log of HTTP requests off.'),
  logOff('disable-stream-access-log', 'false', 'Turns the access log of TCP and UDP services off.'),
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

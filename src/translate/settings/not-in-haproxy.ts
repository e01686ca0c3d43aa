// Keys of ingress-nginx's ConfigMap for nginx's own internals and for nginx modules HAProxy 2.6 (Debian's build) has
// no counterpart of. An internal (a hash table size, a worker option) needs nothing done: the row says why. A module
// (ModSecurity, OpenTelemetry, GeoIP, snippets of nginx configuration) is read so that a value asking for it is
// reported with G4, saying what the users lose, since silence would let them believe requests are inspected,
// traced or configured when they are not. Every value still passes a grammar, so that `portico check` tells a typo
// from an unsupported setting; none is ever written anywhere.
import { bool, cidrList, integer, quote, size } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';
import type { Setting } from './registry.js';

/** Printable ASCII on one line, at most `max` characters: for values read only to be reported. */
export function printable(max: number): ValueGrammar<string> {
  return {
    describe: `printable text of at most ${max} characters`,
    parse: (raw) => (raw.length <= max && /^[\x20-\x7e]*$/.test(raw) ? { ok: true, value: raw.trim() } : { ok: false, reason: `${raw.length > max ? `a value of ${raw.length} characters` : quote(raw)} is not printable text of at most ${max} characters on one line` }),
  };
}

/** A snippet of nginx configuration: lines of text (never copied anywhere), at most 64 KiB. */
const snippet: ValueGrammar<string> = {
  describe: 'lines of nginx configuration, at most 65536 characters',
  parse: (raw) => (raw.length <= 65_536 && !raw.includes('\0') ? { ok: true, value: raw.trim() } : { ok: false, reason: `a snippet of ${raw.length} characters is longer than 65536, or holds a NUL` }),
};

const PORT = integer(1, 65_535);
/** The docs' "honoured" column of a key whose values are reported with what is lost. */
export const UNSUPPORTED = 'unsupported: warning G4';
const COUNT = integer(0, 2 ** 31 - 1);

/** A key whose value needs nothing done in HAProxy. */
function internal<T>(key: string, grammar: ValueGrammar<T>, dflt: string, what: string, why: string): Setting {
  return setting({ key, grammar, set: () => undefined, doc: { default: dflt, what, noEffect: why, live: 'none' } });
}

/** A key HAProxy 2.6 cannot honour: `lost` is reported with G4 whenever the value asks for the feature. */
function unsupported<T>(key: string, grammar: ValueGrammar<T>, dflt: string, what: string, lost: string, asks: (value: T) => boolean): Setting {
  return setting({
    key,
    grammar,
    set: () => undefined,
    notes: (v) => (asks(v) ? [`${key} is not supported by Portico: ${lost}`] : []),
    doc: { default: dflt, what, differences: `not supported (G4 when the value asks for it): ${lost}`, live: 'none', status: UNSUPPORTED },
  });
}

const HASH_TABLE = "a size of one of nginx's hash tables; HAProxy's maps and header handling have no tables to size.";
const WORKERS = "an nginx worker option; HAProxy's threads and event loop need no such setting.";
const NO_WAF =
  "requests are not inspected by a web application firewall: HAProxy 2.6 has no ModSecurity engine (it would be an external SPOE agent, which Debian does not package); put a WAF in front of Portico or beside the backend.";
const NO_TRACING =
  "no OpenTelemetry spans are made or propagated by Portico: Debian's HAProxy 2.6 has only the OpenTracing filter, which needs a tracer plugin Debian does not ship. Trace headers the client sends (traceparent, tracestate) still reach the backend unchanged.";
const NO_JAEGER =
  "no Jaeger spans are made: ingress-nginx's OpenTracing module is gone from its recent releases, and Debian's HAProxy 2.6 ships no tracer for its OpenTracing filter.";
const NO_GEOIP = 'no GeoIP variables or headers: HAProxy 2.6 has no MaxMind database reader (its GeoIP support is in the commercial edition); a backend that needs the country can read X-Forwarded-For.';
const NOT_COPIED =
  "Portico never copies a snippet into HAProxy's configuration, and this one configures a part of nginx (its main, http, server or stream block, or every location) that has no translation: the whole value is left out.";
const NO_TRACING_KEY = 'tracing is not supported (enable-opentelemetry): the key configures nothing.';
const NO_STREAM = "Portico proxies no TCP or UDP services (ingress-nginx's --tcp-services-configmap and --udp-services-configmap), which these keys configure.";

const snippetKey = (key: string, where: string): Setting =>
  setting({
    key,
    grammar: snippet,
    set: () => undefined,
    notes: (v) => (v === '' ? [] : [`${key} is refused: ${NOT_COPIED} Use the snippet annotations on Ingresses, which Portico parses (docs/annotations.md)`]),
    doc: { default: 'none', what: `nginx configuration pasted into ${where}.`, differences: `refused (G4 for any value): ${NOT_COPIED}`, live: 'none', status: 'refused, with warning G4' },
  });

const tracing = (key: string, grammar: ValueGrammar<unknown>, dflt: string, what: string): Setting => internal(key, grammar, dflt, what, NO_TRACING_KEY);

export const NOT_IN_HAPROXY_SETTINGS: readonly Setting[] = [
  internal('map-hash-bucket-size', COUNT, '64', "nginx's map_hash_bucket_size.", HASH_TABLE),
  internal('server-name-hash-bucket-size', COUNT, "nginx's (the CPU's cache line)", "nginx's server_names_hash_bucket_size.", HASH_TABLE),
  internal('server-name-hash-max-size', COUNT, '1024', "nginx's server_names_hash_max_size.", HASH_TABLE),
  internal('variables-hash-bucket-size', COUNT, '256', "nginx's variables_hash_bucket_size.", HASH_TABLE),
  internal('variables-hash-max-size', COUNT, '2048', "nginx's variables_hash_max_size.", HASH_TABLE),
  internal('proxy-headers-hash-bucket-size', COUNT, '64', "nginx's proxy_headers_hash_bucket_size.", HASH_TABLE),
  internal('proxy-headers-hash-max-size', COUNT, '512', "nginx's proxy_headers_hash_max_size.", HASH_TABLE),
  internal('enable-multi-accept', bool, 'true', "nginx's multi_accept.", WORKERS),
  internal('enable-aio-write', bool, 'true', "nginx's aio_write.", `${WORKERS} HAProxy never writes bodies to files.`),
  internal('worker-cpu-affinity', printable(1024), 'none', "nginx's worker_cpu_affinity.", "HAProxy's threads are placed by the kernel within the pod's CPU set; Portico sets no cpu-map."),
  internal('max-worker-open-files', COUNT, '0 (computed)', "nginx's worker_rlimit_nofile.", 'HAProxy computes the file descriptors it needs from maxconn (`--max-connections`) and raises its own limit.'),
  internal('lua-shared-dicts', printable(4096), "ingress-nginx's dictionaries", "Sizes of ingress-nginx's Lua shared dictionaries.", "Portico's Lua scripts keep no shared dictionaries."),
  internal('ssl-buffer-size', size(2 ** 20), '4k', "nginx's ssl_buffer_size: the size of the TLS records nginx sends.", 'HAProxy sizes TLS records from the data at hand (at most 16 kB each); there is nothing to tune for the first byte.'),
  internal('grpc-buffer-size-kb', COUNT, '0 (nginx\'s)', "nginx's grpc_buffer_size.", 'HAProxy passes gRPC messages on as they arrive, through its fixed buffers; there is nothing to size.'),
  internal('limit-conn-zone-variable', printable(256), '$binary_remote_addr', 'The key limit-connections counts connections by.', "Portico's limit-connections counts by the client's address, which is ingress-nginx's default key."),
  internal('proxy-ssl-location-only', bool, 'false', "Whether ingress-nginx writes proxy-ssl-* only into the locations of the Ingress that sets them.", "Portico's proxy-ssl-* annotations always apply to the paths of the Ingress that sets them, which is what `true` asks for; with `false` ingress-nginx would also put them in the server block, where they reach no location without a proxy-ssl annotation of its own."),
  internal('annotation-value-word-blocklist', printable(16_384), 'none', 'Words ingress-nginx refuses in annotation values (such as `load_module`, `lua_package`, `_by_lua`, `location`, `root`, `{`, `}`, `\'`, `\\`).', "it exists to keep annotation values from turning into nginx configuration. No annotation value reaches HAProxy's configuration text unchecked in Portico: each passes a strict grammar first (docs/annotations.md), and snippets are parsed, never copied, so there is no word left to block."),
  internal('nginx-status-ipv4-whitelist', cidrList, '127.0.0.1', 'Who may read nginx\'s status page.', "Portico serves no nginx status page; its metrics are on the admin listener's /metrics (`--admin-bind-address`, `--admin-port`)."),
  internal('nginx-status-ipv6-whitelist', cidrList, '::1', 'Who may read nginx\'s status page over IPv6.', "Portico serves no nginx status page; its metrics are on the admin listener's /metrics (`--admin-bind-address`, `--admin-port`)."),
  internal('proxy-stream-next-upstream', bool, 'true', "nginx's proxy_next_upstream for TCP and UDP services.", NO_STREAM),
  internal('proxy-stream-next-upstream-timeout', printable(64), '600s', "nginx's proxy_next_upstream_timeout for TCP and UDP services.", NO_STREAM),
  internal('proxy-stream-next-upstream-tries', COUNT, '3', "nginx's proxy_next_upstream_tries for TCP and UDP services.", NO_STREAM),
  internal('proxy-stream-responses', COUNT, '1', 'How many UDP responses nginx expects per datagram.', NO_STREAM),
  internal('proxy-stream-timeout', printable(64), '600s', "nginx's proxy_timeout for TCP and UDP services.", NO_STREAM),
  internal('geoip2-autoreload-in-minutes', COUNT, '0', 'How often the GeoIP2 databases are read again.', `GeoIP is not supported (use-geoip2): ${NO_GEOIP}`),
  unsupported('use-geoip', bool, 'false', "nginx's GeoIP (legacy) variables for each request.", NO_GEOIP, (b) => b),
  unsupported('use-geoip2', bool, 'false', "nginx's GeoIP2 variables for each request, from MaxMind databases.", NO_GEOIP, (b) => b),
  unsupported('enable-modsecurity', bool, 'false', 'Runs every request through nginx\'s ModSecurity module.', NO_WAF, (b) => b),
  unsupported('enable-owasp-modsecurity-crs', bool, 'false', "Loads the OWASP Core Rule Set into ModSecurity.", NO_WAF, (b) => b),
  unsupported('modsecurity-snippet', snippet, 'none', 'ModSecurity rules for every request.', NO_WAF, (v) => v !== ''),
  unsupported('enable-opentelemetry', bool, 'false', 'Makes a span for each request and sends it to the OpenTelemetry collector.', NO_TRACING, (b) => b),
  tracing('opentelemetry-config', printable(4096), '/etc/ingress-controller/telemetry/opentelemetry.toml', "The OpenTelemetry module's configuration file."),
  tracing('opentelemetry-operation-name', printable(256), 'none', 'The name of the spans.'),
  tracing('opentelemetry-trust-incoming-span', bool, 'true', 'Whether a span the client sends is the parent of nginx\'s.'),
  tracing('otel-max-export-batch-size', COUNT, '512', 'Spans per export.'),
  tracing('otel-max-queuesize', COUNT, '2048', 'Spans queued for export.'),
  tracing('otel-sampler', printable(64), 'AlwaysOn', 'The span sampler.'),
  tracing('otel-sampler-parent-based', bool, 'true', 'Whether the sampler follows the parent span.'),
  tracing('otel-sampler-ratio', printable(32), '0.01', 'The ratio of requests sampled.'),
  tracing('otel-schedule-delay-millis', COUNT, '5000', 'The delay between exports.'),
  tracing('otel-service-name', printable(256), 'nginx', 'The service name of the spans.'),
  tracing('otlp-collector-host', printable(256), 'none', 'The OpenTelemetry collector.'),
  tracing('otlp-collector-port', PORT, '4317', "The OpenTelemetry collector's port."),
  unsupported('jaeger-collector-host', printable(256), 'none', 'The Jaeger agent spans are sent to (enables OpenTracing).', NO_JAEGER, (v) => v !== ''),
  unsupported('jaeger-endpoint', printable(1024), 'none', 'The Jaeger collector URL spans are sent to (enables OpenTracing).', NO_JAEGER, (v) => v !== ''),
  ...(
    [
      ['jaeger-collector-port', PORT, '6831', "The Jaeger agent's port."],
      ['jaeger-service-name', printable(256), 'nginx', 'The service name of the spans.'],
      ['jaeger-propagation-format', printable(64), 'jaeger', 'How span context is propagated.'],
      ['jaeger-sampler-type', printable(64), 'const', 'The sampler.'],
      ['jaeger-sampler-param', printable(64), '1', "The sampler's parameter."],
      ['jaeger-sampler-host', printable(256), 'http://127.0.0.1', 'The sampling server.'],
      ['jaeger-sampler-port', PORT, '5778', "The sampling server's port."],
      ['jaeger-trace-context-header-name', printable(256), 'uber-trace-id', 'The header of the span context.'],
      ['jaeger-debug-header', printable(256), 'jaeger-debug-id', 'The header that forces sampling.'],
      ['jaeger-baggage-header', printable(256), 'jaeger-baggage', 'The header of ad hoc baggage.'],
      ['jaeger-trace-baggage-header-prefix', printable(256), 'uberctx-', 'The prefix of baggage headers.'],
    ] as const
  ).map(([key, grammar, dflt, what]) => internal(key, grammar as ValueGrammar<unknown>, dflt, what, 'tracing with Jaeger is not supported (jaeger-collector-host): the key configures nothing.')),
  unsupported('enable-ocsp', bool, 'false', 'OCSP stapling: the TLS handshake carries the certificate authority\'s answer that the certificate is not revoked.', "no OCSP response is stapled: HAProxy 2.6 staples only responses given to it as files and cannot fetch them itself (that came with 2.8); clients that want one ask the certificate authority.", (b) => b),
  unsupported('ssl-reject-handshake', bool, 'false', 'A TLS handshake whose server name no Ingress has is refused instead of completed with the default certificate.', 'such a handshake is completed with the default certificate (the client then refuses the certificate, or gets 404), as with the key off.', (b) => b),
  snippetKey('main-snippet', "nginx's main block"),
  snippetKey('http-snippet', "nginx's http block"),
  snippetKey('server-snippet', 'every nginx server block'),
  snippetKey('location-snippet', 'every nginx location'),
  snippetKey('stream-snippet', "nginx's stream block"),
];

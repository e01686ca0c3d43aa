// Command-line flags: declared once, validated once, then frozen. The help text is generated from the same table.
import { parseArgs } from 'node:util';
import { createSecureContext } from 'node:tls';
import type { HstsSettings } from '../haproxy/render/edge.js';
import { isDns1123Label, isDns1123Subdomain, isDomainPrefixedPath, isIpAddress } from '../translate/grammar.js';

/** ingress-nginx's default `ssl-ciphers` (Mozilla's "intermediate" list): forward secrecy and AEAD only. */
export const DEFAULT_SSL_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256';
const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export type Command = 'serve' | 'translate' | 'check' | 'explain';

interface FlagSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  default?: string;
  arg?: string;
  /** Taken when the flag is given bare, as Go's boolean flags allow (`--watch-ingress-without-class`): a flag
   * copied from an ingress-nginx Deployment means the same here. */
  bare?: string;
  help: string;
  commands: Command[];
}

export const FLAGS: Record<string, FlagSpec> = {
  manifests: { type: 'string', multiple: true, arg: 'PATH', help: 'manifest file or directory (YAML or JSON, read recursively); repeatable; - reads standard input (check). Without it, serve reads the Kubernetes API', commands: ['serve', 'translate', 'check', 'explain'] },
  kubeconfig: { type: 'string', arg: 'FILE', help: 'kubeconfig for the Kubernetes API (default: $KUBECONFIG, else the in-cluster service account)', commands: ['serve', 'check', 'explain'] },
  namespace: { type: 'string', arg: 'NS', help: 'check, explain: read only this namespace from the Kubernetes API (default: all)', commands: ['check', 'explain'] },
  output: { type: 'string', default: 'table', arg: 'table|json', help: 'check: a table for a terminal, or JSON for tools (docs/check.md has its shape); explain: text (table) or json', commands: ['check', 'explain'] },
  // explain (src/explain/): the request explained, besides its URL.
  method: { type: 'string', default: 'GET', arg: 'METHOD', help: 'explain: the request method', commands: ['explain'] },
  header: { type: 'string', multiple: true, arg: 'NAME:VALUE', help: 'explain: a request header (repeatable); Host replaces the URL\'s host', commands: ['explain'] },
  client: { type: 'string', arg: 'IP', help: 'explain: the client address the access lists judge (default: they are described, not decided)', commands: ['explain'] },
  sni: { type: 'string', arg: 'NAME', help: 'explain: the TLS server name of an https URL (default: the host)', commands: ['explain'] },
  'watch-namespace': { type: 'string', arg: 'NS', help: 'watch namespaced objects in this namespace only (RBAC then needs only a Role there)', commands: ['serve'] },
  'publish-service': { type: 'string', arg: 'NS/NAME', help: "Service whose address is written to each owned Ingress's status", commands: ['serve'] },
  'publish-status-address': { type: 'string', arg: 'A,B,...', help: 'addresses written to Ingress status when no --publish-service (IPs or host names)', commands: ['serve'] },
  'update-status': { type: 'string', default: 'true', arg: 'BOOL', help: 'write status.loadBalancer on owned Ingresses (leader only)', commands: ['serve'] },
  'election-id': { type: 'string', default: 'portico-leader', arg: 'NAME', help: 'name of the Lease used for leader election', commands: ['serve'] },
  'election-namespace': { type: 'string', arg: 'NS', help: "namespace of the Lease and of cluster-scoped objects' Events (default: $POD_NAMESPACE, else the service account's)", commands: ['serve'] },
  'election-lease-duration': { type: 'string', default: '15', arg: 'SECONDS', help: 'leader election: how long a lease holds without renewal', commands: ['serve'] },
  'election-renew-deadline': { type: 'string', default: '10', arg: 'SECONDS', help: 'leader election: the leader steps down when it cannot renew for this long', commands: ['serve'] },
  'election-retry-period': { type: 'string', default: '2', arg: 'SECONDS', help: 'leader election: interval between lease attempts and renewals', commands: ['serve'] },
  'api-list-page-size': { type: 'string', default: '500', arg: 'N', help: 'objects per page when listing (limit/continue)', commands: ['serve'] },
  'api-watch-stall-timeout': { type: 'string', default: '90', arg: 'SECONDS', help: 'restart a watch that sends nothing, not even a bookmark, for this long', commands: ['serve'] },
  'http-port': { type: 'string', default: '8080', arg: 'PORT', help: 'plain HTTP listener', commands: ['serve'] },
  'https-port': { type: 'string', default: '8443', arg: 'PORT', help: 'HTTPS listener (TLS 1.2+, ALPN h2 and http/1.1)', commands: ['serve'] },
  'admin-port': { type: 'string', default: '10254', arg: 'PORT', help: 'admin listener: /healthz and /readyz', commands: ['serve'] },
  'bind-address': { type: 'string', default: '', arg: 'IP', help: 'address the traffic listeners bind to (default: all)', commands: ['serve'] },
  'debug-endpoints': { type: 'string', default: 'auto', arg: 'auto|BOOL', bare: 'true', help: 'serve /debug/explain on the admin listener (the request explained from the live model); auto: with --manifests only, since in a cluster the admin port is open to every pod (for the kubelet and Prometheus)', commands: ['serve'] },
  'dashboard': { type: 'string', default: 'auto', arg: 'auto|BOOL', bare: 'true', help: 'serve the dashboard at / on the admin listener, and its data at /debug/dashboard.json (needs --debug-endpoints); auto: as --debug-endpoints', commands: ['serve'] },
  'debug-headers': { type: 'string', default: 'false', arg: 'BOOL', bare: 'true', help: 'responses carry X-Portico-Route (namespace/ingress host+path) and X-Portico-Service (namespace/service:port) naming what served them', commands: ['serve'] },
  'admin-bind-address': { type: 'string', arg: 'IP', help: "address the admin listener binds to (default: 127.0.0.1 with --manifests; all addresses when reading the Kubernetes API, for the kubelet's probes; '' for all)", commands: ['serve'] },
  'ingress-class': { type: 'string', default: 'portico', arg: 'NAME', help: 'IngressClass name, and the legacy kubernetes.io/ingress.class value Portico answers to', commands: ['serve', 'translate', 'check', 'explain'] },
  'controller-name': { type: 'string', default: 'portico.dev/ingress-controller', arg: 'NAME', help: 'spec.controller of the IngressClasses Portico owns', commands: ['serve', 'translate', 'check', 'explain'] },
  'watch-ingress-without-class': {
    type: 'string',
    default: 'false',
    arg: 'BOOL',
    bare: 'true',
    help: "also serve Ingresses with neither spec.ingressClassName nor the kubernetes.io/ingress.class annotation, as ingress-nginx's flag of that name does (without it, only while one of Portico's IngressClasses is the default); given bare, it means true",
    commands: ['serve', 'translate', 'check', 'explain'],
  },
  'default-ssl-certificate': { type: 'string', arg: 'NS/NAME', help: 'Secret served when no Ingress certificate matches (default: a self-signed one generated at start)', commands: ['serve', 'translate', 'check', 'explain'] },
  configmap: { type: 'string', arg: 'NS/NAME', help: "ConfigMap of controller-wide settings, with ingress-nginx's keys (docs/configmap.md); a key it sets wins over the flag of the same name", commands: ['serve', 'translate', 'check', 'explain'] },
  'ssl-redirect': { type: 'string', default: 'true', arg: 'BOOL', help: 'redirect plain HTTP to HTTPS (308) for hosts listed in a tls block', commands: ['serve', 'translate', 'check', 'explain'] },
  'https-redirect-port': { type: 'string', default: '443', arg: 'PORT', help: 'port written into HTTPS redirects (443 is left out of the URL)', commands: ['serve', 'explain'] },
  'haproxy-bin': { type: 'string', default: 'haproxy', arg: 'PATH', help: 'HAProxy executable', commands: ['serve'] },
  'state-dir': { type: 'string', arg: 'DIR', help: "where HAProxy's configuration, maps, certificates and sockets live: this user's, writable by nobody else, created with mode 0700 if missing (default: a fresh temporary directory)", commands: ['serve'] },
  'shutdown-drain-delay': {
    type: 'string',
    default: 'auto',
    arg: 'SECONDS|auto',
    help: 'on SIGTERM/SIGINT, first answer 503 on /readyz while HAProxy keeps accepting and serving for this long, so that a load balancer health-checking /readyz stops sending new connections before HAProxy stops accepting; a second signal ends the wait (auto: 10 in a pod, where KUBERNETES_SERVICE_HOST is set, else 0)',
    commands: ['serve'],
  },
  'shutdown-grace-period': { type: 'string', default: '30', arg: 'SECONDS', help: 'on SIGTERM/SIGINT, after the drain delay, how long in-flight requests may take to finish', commands: ['serve'] },
  'hard-stop-after': { type: 'string', default: '3600', arg: 'SECONDS', help: 'how long workers of a replaced configuration may keep long connections (WebSockets) open', commands: ['serve'] },
  'reload-interval': { type: 'string', default: '2', arg: 'SECONDS', help: 'least time between two HAProxy reloads; changes that need one meanwhile go live together (routine changes never wait: they need no reload)', commands: ['serve'] },
  'spare-backends': { type: 'string', default: '32', arg: 'N', help: 'fewest empty backend sections kept for new Services, so that they go live without a reload (at least one per ten Services in use)', commands: ['serve'] },
  'max-connections': { type: 'string', default: '4096', arg: 'N', help: "HAProxy's maxconn", commands: ['serve'] },
  'upstream-connect-timeout': { type: 'string', default: '5', arg: 'SECONDS', help: 'time to connect to a backend before 503/retry', commands: ['serve'] },
  'upstream-read-timeout': { type: 'string', default: '60', arg: 'SECONDS', help: 'time a backend may stay silent before 504', commands: ['serve'] },
  'client-timeout': { type: 'string', default: '60', arg: 'SECONDS', help: 'time a client may stay silent', commands: ['serve'] },
  'tunnel-timeout': { type: 'string', default: '3600', arg: 'SECONDS', help: 'idle time allowed on WebSocket and other upgraded connections', commands: ['serve'] },
  'client-request-timeout': { type: 'string', default: '10', arg: 'SECONDS', help: "time a client has to send a request's headers (slowloris protection; also bounds a new connection that sends nothing)", commands: ['serve'] },
  'client-body-timeout': { type: 'string', default: '60', arg: 'SECONDS', help: 'time a client has to send a request body into the buffer before Portico answers 408 (bodies are buffered before a backend is picked, up to 16 kB)', commands: ['serve'] },
  'client-keepalive-timeout': { type: 'string', default: '60', arg: 'SECONDS', help: 'how long an idle keep-alive client connection is kept open', commands: ['serve'] },
  'max-connections-per-client': { type: 'string', default: 'auto', arg: 'N|auto|0', help: 'concurrent connections one client address may hold (auto: a quarter of --max-connections; 0: no limit); more are refused', commands: ['serve'] },
  'max-connection-rate-per-client': { type: 'string', default: '200', arg: 'N|0', help: 'new connections per second one client address may open, averaged over 10 s (0: no limit); more are refused', commands: ['serve'] },
  'proxy-body-size': { type: 'string', default: '1m', arg: 'SIZE', help: 'largest request body (k, m, g suffixes; 0: no limit); larger ones get 413, as in ingress-nginx: at once for a Content-Length, as it streams for chunked and HTTP/2 bodies of unknown length', commands: ['serve'] },
  'allow-encoded-slashes': { type: 'string', default: 'false', arg: 'BOOL', help: 'let paths carry an encoded slash (%2F), kept encoded, instead of answering 400 (only for applications that need it: see the README)', commands: ['serve'] },
  'ssl-protocols': { type: 'string', default: 'TLSv1.2 TLSv1.3', arg: 'LIST', help: 'TLS versions the HTTPS listener accepts (TLSv1.2, TLSv1.3)', commands: ['serve'] },
  'ssl-ciphers': { type: 'string', default: DEFAULT_SSL_CIPHERS, arg: 'LIST', help: "TLS 1.2 cipher suites in OpenSSL's syntax (default: ingress-nginx's, Mozilla intermediate)", commands: ['serve'] },
  hsts: { type: 'string', default: 'true', arg: 'BOOL', help: 'send Strict-Transport-Security on HTTPS responses for hosts listed in a tls block', commands: ['serve'] },
  'hsts-max-age': { type: 'string', default: '31536000', arg: 'SECONDS', help: 'max-age of the Strict-Transport-Security header', commands: ['serve'] },
  'hsts-include-subdomains': { type: 'string', default: 'true', arg: 'BOOL', help: 'add includeSubDomains to the Strict-Transport-Security header', commands: ['serve'] },
  'hsts-preload': { type: 'string', default: 'false', arg: 'BOOL', help: 'add preload to the Strict-Transport-Security header', commands: ['serve'] },
  ipv6: { type: 'string', default: 'auto', arg: 'auto|true|false', help: 'with no --bind-address, listen on IPv6 as well as IPv4 (auto: when the host has IPv6)', commands: ['serve'] },
  resolvers: { type: 'string', default: 'auto', arg: 'auto|none|IP[:PORT],...', help: 'DNS servers that re-resolve ExternalName targets while HAProxy runs (auto: the nameservers of /etc/resolv.conf in a cluster, none with --manifests; none: resolved when a configuration loads)', commands: ['serve'] },
  threads: { type: 'string', default: '0', arg: 'N', help: "HAProxy threads (0: the CPU limit of Portico's cgroup, else the CPUs it may run on)", commands: ['serve'] },
  'max-manifest-file-size': { type: 'string', default: '8Mi', arg: 'BYTES', help: 'larger manifest files are refused (reported, and the objects they held before stay); a number of bytes, or with Ki or Mi', commands: ['serve', 'translate', 'check', 'explain'] },
  'access-log': { type: 'string', default: 'json', arg: 'json|text|off', help: "one line per request on standard output, from HAProxy (off: HAProxy writes none)", commands: ['serve'] },
  'access-log-buffer': { type: 'string', default: '8m', arg: 'SIZE', help: "memory of each HAProxy worker for access log lines Portico has not read yet (k, m, g suffixes; 64k to 1g); when Portico falls this far behind, HAProxy drops the newest lines and Portico counts them (portico_access_log_lost_lines_total)", commands: ['serve'] },
  'log-format': { type: 'string', default: 'json', arg: 'json|text', help: 'log lines as JSON objects or as text for humans', commands: ['serve', 'translate', 'check', 'explain'] },
  'log-level': { type: 'string', default: 'info', arg: 'LEVEL', help: 'debug, info, warn or error', commands: ['serve', 'translate', 'check', 'explain'] },
  help: { type: 'boolean', help: 'show this help', commands: ['serve', 'translate', 'check', 'explain'] },
  // Metrics (issue 13).
  'metrics-per-host': {
    type: 'string',
    default: 'true',
    arg: 'BOOL',
    bare: 'true',
    help: "label the per-request traffic series with the request's host, as ingress-nginx's flag of that name (false: one series for all hosts of an Ingress path)",
    commands: ['serve'],
  },
};

export class FlagError extends Error {}

export interface KubernetesFlags {
  kubeconfig: string | undefined;
  watchNamespace: string | undefined;
  publishService: string | undefined;
  publishStatusAddress: string[];
  updateStatus: boolean;
  electionId: string;
  electionNamespace: string | undefined;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  watchStallTimeout: number;
  listPageSize: number;
}

/** What the data plane enforces at the edge: client timeouts, fair share of connections, body size, TLS. */
export interface EdgeFlags {
  clientRequestTimeout: number;
  clientBodyTimeout: number;
  clientKeepaliveTimeout: number;
  /** Concurrent connections per client address; 0: no limit. */
  maxConnectionsPerClient: number;
  /** New connections per second per client address, averaged over 10 s; 0: no limit. */
  maxConnectionRatePerClient: number;
  /** Largest request body in bytes; 0: no limit. */
  proxyBodySize: number;
  allowEncodedSlashes: boolean;
  tlsVersions: { min: TlsVersion; max: TlsVersion };
  sslCiphers: string;
  hsts: HstsSettings;
  ipv6: 'auto' | 'true' | 'false';
  /** HAProxy threads; 0: from the CPU limit. */
  threads: number;
  /** `ip:port` DNS servers, or 'auto' (/etc/resolv.conf). */
  resolvers: string[] | 'auto';
}

export interface ServeFlags {
  manifests: string[];
  /** Set when serve reads the Kubernetes API instead of manifest files. */
  kubernetes: KubernetesFlags | undefined;
  httpPort: number;
  httpsPort: number;
  adminPort: number;
  bindAddress: string;
  adminBindAddress: string;
  ingressClass: string;
  controllerName: string;
  watchIngressWithoutClass: boolean;
  defaultSslCertificate: string | undefined;
  /** `namespace/name` of the --configmap ConfigMap. */
  configMap: string | undefined;
  sslRedirect: boolean;
  httpsRedirectPort: number;
  haproxyBin: string;
  stateDir: string | undefined;
  /** Seconds between the stop signal and HAProxy's graceful stop, with /readyz at 503 and HAProxy serving. */
  shutdownDrainDelay: number;
  shutdownGracePeriod: number;
  hardStopAfter: number;
  reloadInterval: number;
  spareBackends: number;
  maxConnections: number;
  upstreamConnectTimeout: number;
  upstreamReadTimeout: number;
  clientTimeout: number;
  tunnelTimeout: number;
  edge: EdgeFlags;
  maxManifestFileSize: number;
  logFormat: 'json' | 'text';
  /** serve: the access log's lines (src/accesslog/). */
  accessLog: 'json' | 'text' | 'off';
  /** serve: bytes of each HAProxy worker's access log ring. */
  accessLogBufferBytes: number;
  logLevel: string;
  /** --metrics-per-host: the traffic series carry a `host` label. */
  metricsPerHost: boolean;
  help: boolean;
  /** check: the output format. */
  output: 'table' | 'json';
  /** check: the one namespace read from the Kubernetes API. */
  namespace: string | undefined;
  /** serve: /debug/* on the admin listener. */
  debugEndpoints: boolean;
  /** serve: the dashboard at / and /debug/dashboard.json on the admin listener (only with debugEndpoints). */
  dashboard: boolean;
  /** serve: X-Portico-Route and X-Portico-Service on responses. */
  debugHeaders: boolean;
  /** explain: the request. */
  explain?: { url: string; method: string; headers: string[]; client?: string; sni?: string };
}

export function parseFlags(command: Command, argv: string[]): ServeFlags {
  const options = Object.fromEntries(
    Object.entries(FLAGS)
      .filter(([, s]) => s.commands.includes(command))
      .map(([name, s]) => [name, { type: s.type, ...(s.multiple ? { multiple: true } : {}), ...(s.default !== undefined ? { default: s.default } : {}) }]),
  );
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[] = [];
  try {
    const args = argv.map((a) => (a.startsWith('--') && FLAGS[a.slice(2)]?.bare !== undefined ? `${a}=${FLAGS[a.slice(2)]!.bare}` : a));
    const parsed = parseArgs({ args, options, allowPositionals: command === 'explain', strict: true });
    values = parsed.values as typeof values;
    positionals = parsed.positionals;
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  const str = (name: string): string => {
    const v = values[name];
    return typeof v === 'string' ? v : (FLAGS[name]?.default ?? '');
  };
  const int = (name: string, min: number, max: number): number => {
    const raw = str(name);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
    return n;
  };
  const port = (name: string): number => int(name, 1, 65535);
  const bool = (name: string): boolean => {
    const raw = str(name);
    if (raw !== 'true' && raw !== 'false') throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be true or false`);
    return raw === 'true';
  };
  /** `auto` is true with --manifests, false when reading the Kubernetes API. */
  const boolOrAuto = (name: string): boolean => (str(name) === 'auto' ? !useApi : bool(name));
  const ip = (name: string): string => {
    const raw = str(name);
    if (raw !== '' && !isIpAddress(raw)) throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be an IP address`);
    return raw;
  };
  /** nginx's size syntax (byteSize), within bounds. */
  const sizeBetween = (name: string, min: number, max: number): number => {
    const n = byteSize(name, str(name));
    if (n < min || n > max) throw new FlagError(`--${name}: ${JSON.stringify(str(name))} must be from ${min >> 10}k to ${max >> 30}g`);
    return n;
  };
  const bytes = (name: string, min: number, max: number): number => {
    const raw = str(name);
    const m = /^(\d{1,12})(Ki|Mi)?$/.exec(raw);
    const n = m ? Number(m[1]) * (m[2] === 'Mi' ? 1 << 20 : m[2] === 'Ki' ? 1 << 10 : 1) : NaN;
    if (!(n >= min && n <= max)) throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be a number of bytes from ${min} to ${max} (suffix Ki or Mi allowed)`);
    return n;
  };
  const help = values.help === true;
  const manifests = (values.manifests as string[] | undefined) ?? [];
  const kubeconfig = typeof values.kubeconfig === 'string' ? values.kubeconfig : process.env.KUBECONFIG || undefined;
  const useApi = command !== 'translate' && manifests.length === 0 && (kubeconfig !== undefined || process.env.KUBERNETES_SERVICE_HOST !== undefined);
  if (!help && manifests.length === 0 && !useApi)
    throw new FlagError(command === 'translate' ? '--manifests is required: a file or directory of Kubernetes manifests' : '--manifests is required outside a cluster (or --kubeconfig FILE for the Kubernetes API)');
  if (manifests.includes('-') && command !== 'check') throw new FlagError('--manifests -: standard input is read by check only');
  if (manifests.length > 0 && typeof values.kubeconfig === 'string') throw new FlagError('--manifests and --kubeconfig exclude each other: Portico reads one source');
  const nsName = (name: string): string | undefined => {
    const v = values[name];
    if (typeof v !== 'string') return undefined;
    const [ns, n, extra] = v.split('/');
    if (extra !== undefined || !ns || !n || !isDns1123Label(ns) || !isDns1123Subdomain(n)) throw new FlagError(`--${name}: ${JSON.stringify(v)} must be NAMESPACE/NAME`);
    return v;
  };
  const label = (name: string): string | undefined => {
    const v = values[name];
    if (typeof v !== 'string') return undefined;
    if (!isDns1123Label(v)) throw new FlagError(`--${name}: ${JSON.stringify(v)} must be a DNS-1123 label`);
    return v;
  };
  const ingressClass = str('ingress-class');
  if (!isDns1123Subdomain(ingressClass)) throw new FlagError(`--ingress-class: ${JSON.stringify(ingressClass)} must be a DNS-1123 subdomain`);
  const controllerName = str('controller-name');
  if (!isDomainPrefixedPath(controllerName)) throw new FlagError(`--controller-name: ${JSON.stringify(controllerName)} must be a domain-prefixed path such as example.com/ingress-controller`);
  const dflt = values['default-ssl-certificate'];
  if (typeof dflt === 'string') {
    const [ns, name, extra] = dflt.split('/');
    if (extra !== undefined || !ns || !name || !isDns1123Label(ns) || !isDns1123Subdomain(name))
      throw new FlagError(`--default-ssl-certificate: ${JSON.stringify(dflt)} must be NAMESPACE/NAME of a Secret`);
  }
  const configMap = values.configmap;
  if (typeof configMap === 'string') {
    const [ns, name, extra] = configMap.split('/');
    if (extra !== undefined || !ns || !name || !isDns1123Label(ns) || !isDns1123Subdomain(name)) throw new FlagError(`--configmap: ${JSON.stringify(configMap)} must be NAMESPACE/NAME of a ConfigMap`);
  }
  const logFormat = str('log-format');
  if (logFormat !== 'json' && logFormat !== 'text') throw new FlagError(`--log-format: ${JSON.stringify(logFormat)} must be json or text`);
  const logLevel = str('log-level');
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new FlagError(`--log-level: ${JSON.stringify(logLevel)} must be debug, info, warn or error`);
  const serve = command === 'serve';
  const statusAddresses = typeof values['publish-status-address'] === 'string' ? values['publish-status-address'].split(',').map((a) => a.trim()).filter(Boolean) : [];
  for (const a of statusAddresses)
    if (!isIpAddress(a) && !isDns1123Subdomain(a)) throw new FlagError(`--publish-status-address: ${JSON.stringify(a)} must be an IP address or a DNS name (no port)`);
  const electionId = str('election-id');
  if (!isDns1123Subdomain(electionId)) throw new FlagError(`--election-id: ${JSON.stringify(electionId)} must be a DNS-1123 subdomain`);
  const kubernetes: KubernetesFlags | undefined = useApi
    ? {
        kubeconfig,
        watchNamespace: label('watch-namespace'),
        publishService: nsName('publish-service'),
        publishStatusAddress: statusAddresses,
        updateStatus: bool('update-status'),
        electionId,
        electionNamespace: label('election-namespace'),
        leaseDuration: int('election-lease-duration', 1, 3600),
        renewDeadline: int('election-renew-deadline', 1, 3600),
        retryPeriod: int('election-retry-period', 1, 3600),
        watchStallTimeout: int('api-watch-stall-timeout', 1, 3600),
        listPageSize: int('api-list-page-size', 1, 100_000),
      }
    : undefined;
  if (kubernetes && !(kubernetes.leaseDuration > kubernetes.renewDeadline && kubernetes.renewDeadline > kubernetes.retryPeriod))
    throw new FlagError('leader election needs --election-lease-duration > --election-renew-deadline > --election-retry-period');
  const flags: ServeFlags = {
    manifests,
    kubernetes,
    httpPort: serve ? port('http-port') : 0,
    httpsPort: serve ? port('https-port') : 0,
    adminPort: serve ? port('admin-port') : 0,
    bindAddress: serve ? ip('bind-address') : '',
    // Manifest mode runs on a machine, where the admin port is for local tools; in a cluster the kubelet probes it
    // on the pod's address.
    adminBindAddress: !serve ? '' : typeof values['admin-bind-address'] === 'string' ? ip('admin-bind-address') : useApi ? '' : '127.0.0.1',
    ingressClass,
    controllerName,
    watchIngressWithoutClass: bool('watch-ingress-without-class'),
    defaultSslCertificate: typeof dflt === 'string' ? dflt : undefined,
    configMap: typeof configMap === 'string' ? configMap : undefined,
    sslRedirect: bool('ssl-redirect'),
    httpsRedirectPort: serve ? port('https-redirect-port') : 443,
    haproxyBin: str('haproxy-bin'),
    stateDir: typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined,
    shutdownDrainDelay: serve ? drainDelay(str('shutdown-drain-delay')) : 0,
    shutdownGracePeriod: serve ? int('shutdown-grace-period', 0, 86400) : 0,
    hardStopAfter: serve ? int('hard-stop-after', 1, 7 * 86400) : 0,
    reloadInterval: serve ? int('reload-interval', 0, 3600) : 0,
    spareBackends: serve ? int('spare-backends', 0, 100_000) : 0,
    maxConnections: serve ? int('max-connections', 1, 9000) : 0,
    upstreamConnectTimeout: serve ? int('upstream-connect-timeout', 1, 3600) : 0,
    upstreamReadTimeout: serve ? int('upstream-read-timeout', 1, 86400) : 0,
    clientTimeout: serve ? int('client-timeout', 1, 86400) : 0,
    tunnelTimeout: serve ? int('tunnel-timeout', 1, 7 * 86400) : 0,
    edge: edgeFlags(str, int, bool),
    maxManifestFileSize: bytes('max-manifest-file-size', 1, 32 << 20),
    logFormat,
    accessLog: serve ? oneOf('access-log', str('access-log'), ['json', 'text', 'off'] as const) : 'off',
    accessLogBufferBytes: serve ? sizeBetween('access-log-buffer', 64 << 10, 1 << 30) : 8 << 20,
    logLevel,
    metricsPerHost: serve ? bool('metrics-per-host') : true,
    help,
    output: command === 'check' || command === 'explain' ? oneOf('output', str('output'), ['table', 'json'] as const) : 'table',
    namespace: command === 'check' || command === 'explain' ? label('namespace') : undefined,
    debugEndpoints: command === 'serve' ? boolOrAuto('debug-endpoints') : false,
    dashboard: command === 'serve' ? boolOrAuto('dashboard') && boolOrAuto('debug-endpoints') : false,
    debugHeaders: command === 'serve' ? bool('debug-headers') : false,
    ...(command === 'explain' ? { explain: explainRequestFlags(help, positionals, values) } : {}),
  };
  if (serve && new Set([flags.httpPort, flags.httpsPort, flags.adminPort]).size !== 3) throw new FlagError('--http-port, --https-port and --admin-port must differ');
  return Object.freeze(flags);
}

type Reader<T> = (name: string) => T;

/** Enough for kube-proxy on every node to see a pod terminating and for a health check of a few seconds (interval x
 * unhealthy threshold) to notice /readyz; the README's "Several replicas behind a load balancer" says how to choose.
 * It fits, with 20 s left for the graceful stop, in the kubelet's default terminationGracePeriodSeconds (30). */
const IN_POD_DRAIN_DELAY = 10;

/**
 * In a pod, something (kube-proxy, a load balancer) may still send new connections for a while after SIGTERM. Outside
 * one, nothing is known about a balancer, and a delay would only hold up every Ctrl-C and every test: 0.
 */
function drainDelay(raw: string): number {
  if (raw === 'auto') return process.env.KUBERNETES_SERVICE_HOST ? IN_POD_DRAIN_DELAY : 0;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) > 3600) throw new FlagError(`--shutdown-drain-delay: ${JSON.stringify(raw)} must be auto or an integer from 0 to 3600`);
  return Number(raw);
}

function edgeFlags(str: Reader<string>, int: (name: string, min: number, max: number) => number, bool: Reader<boolean>): EdgeFlags {
  const maxConnections = int('max-connections', 1, 9000);
  const perClient = str('max-connections-per-client');
  const protocols = str('ssl-protocols').split(/[\s,]+/).filter(Boolean);
  for (const p of protocols) if (!(TLS_VERSIONS as readonly string[]).includes(p)) throw new FlagError(`--ssl-protocols: ${JSON.stringify(p)} is not one of ${TLS_VERSIONS.join(', ')}`);
  if (protocols.length === 0) throw new FlagError('--ssl-protocols: name at least one of TLSv1.2, TLSv1.3');
  const ordered = TLS_VERSIONS.filter((v) => protocols.includes(v));
  const hstsMaxAge = int('hsts-max-age', 0, 10 * 365 * 86400);
  return {
    clientRequestTimeout: int('client-request-timeout', 1, 3600),
    clientBodyTimeout: int('client-body-timeout', 1, 86400),
    clientKeepaliveTimeout: int('client-keepalive-timeout', 0, 3600),
    maxConnectionsPerClient: perClient === 'auto' ? Math.max(1, Math.ceil(maxConnections / 4)) : int('max-connections-per-client', 0, maxConnections),
    maxConnectionRatePerClient: int('max-connection-rate-per-client', 0, 1_000_000),
    proxyBodySize: byteSize('proxy-body-size', str('proxy-body-size')),
    allowEncodedSlashes: bool('allow-encoded-slashes'),
    tlsVersions: { min: ordered[0]!, max: ordered[ordered.length - 1]! },
    sslCiphers: cipherList(str('ssl-ciphers')),
    hsts: { enabled: bool('hsts'), maxAge: hstsMaxAge, includeSubdomains: bool('hsts-include-subdomains'), preload: bool('hsts-preload') },
    ipv6: oneOf('ipv6', str('ipv6'), ['auto', 'true', 'false'] as const),
    threads: int('threads', 0, 64),
    resolvers: dnsServers(str('resolvers')),
  };
}

/** `auto`, `none`, or a list of IP addresses with optional ports (IPv6 with a port in brackets). */
function dnsServers(raw: string): string[] | 'auto' {
  if (raw === 'auto') return 'auto';
  if (raw === 'none') return [];
  return raw.split(',').map((item) => {
    const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$|^([0-9.]+)(?::(\d{1,5}))?$|^([0-9a-fA-F:]+)$/.exec(item.trim());
    const ip = m?.[1] ?? m?.[3] ?? m?.[5];
    const port = Number(m?.[2] ?? m?.[4] ?? 53);
    if (!ip || !isIpAddress(ip) || port < 1 || port > 65535) throw new FlagError(`--resolvers: ${JSON.stringify(item)} must be an IP address with an optional port`);
    return `${ip}:${port}`;
  });
}

/** nginx's size syntax, as ingress-nginx's proxy-body-size takes it: a number with an optional k, m or g. */
export function byteSize(name: string, raw: string): number {
  const m = /^(\d{1,12})([kKmMgG]?)$/.exec(raw);
  if (!m) throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be a size such as 1m, 512k or 0`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n)) throw new FlagError(`--${name}: ${JSON.stringify(raw)} is too large`);
  return n;
}

/** A cipher list reaches HAProxy's configuration: it must be OpenSSL syntax only, and name ciphers OpenSSL knows. */
function cipherList(raw: string): string {
  if (!/^[A-Za-z0-9_:+!@=.-]{1,2000}$/.test(raw)) throw new FlagError(`--ssl-ciphers: ${JSON.stringify(raw)} may contain only cipher names and OpenSSL's list operators (: + ! @ -)`);
  try {
    createSecureContext({ ciphers: raw });
  } catch (e) {
    throw new FlagError(`--ssl-ciphers: OpenSSL refuses ${JSON.stringify(raw)}: ${(e as Error).message}`);
  }
  return raw;
}

/** explain's request: one URL (positional), the method, headers, client and SNI as given (request.ts checks them). */
function explainRequestFlags(help: boolean, positionals: string[], values: Record<string, string | boolean | string[] | undefined>): NonNullable<ServeFlags['explain']> {
  if (!help && positionals.length !== 1) throw new FlagError(positionals.length === 0 ? 'the URL to explain is required (http://host/path)' : `one URL only, got ${positionals.length}`);
  const client = values.client;
  if (typeof client === 'string' && !isIpAddress(client)) throw new FlagError(`--client: ${JSON.stringify(client)} must be an IP address`);
  return {
    url: positionals[0] ?? '',
    method: typeof values.method === 'string' ? values.method : 'GET',
    headers: (values.header as string[] | undefined) ?? [],
    ...(typeof client === 'string' ? { client } : {}),
    ...(typeof values.sni === 'string' ? { sni: values.sni } : {}),
  };
}

function oneOf<T extends string>(name: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw)) throw new FlagError(`--${name}: ${JSON.stringify(raw)} must be one of ${allowed.join(', ')}`);
  return raw as T;
}

export function helpText(command?: Command): string {
  const usage = {
    serve: 'portico serve --manifests PATH [--manifests PATH ...] [flags]\n\nServe HTTP and HTTPS traffic through HAProxy, routed by the Ingress manifests in PATH.\nFile changes take effect within a second, without dropping connections.',
    translate: 'portico translate --manifests PATH [flags]\n\nPrint the routing model and the diagnostics as JSON, without starting HAProxy.',
    explain:
      'portico explain --manifests PATH URL [--method M] [--header NAME:VALUE ...] [--output json] [flags]\nportico explain --kubeconfig FILE URL [flags]\n\nSay what Portico does with one request: the host group, path and Ingress that serve it (with the rule ids of\ndocs/ingress-v1.md), every policy on the way, the Service, port and endpoints, the certificate for its SNI, and why\nevery other candidate path did not serve it. Never starts HAProxy. Exit status: 0 when the request is routed (a\nbackend or a route\'s own answer), 1 when it gets 404 or 400, 2 on a usage error.',
    check:
      'portico check --manifests PATH|- [--manifests PATH ...] [flags]\nportico check --kubeconfig FILE [--namespace NS] [flags]\n\nSay, for every Ingress, whether Portico would serve it and what becomes of each ingress-nginx annotation\n(supported, partial, ignored, unsupported, unknown, invalid), with the translator\'s diagnostics. Never starts HAProxy\nand never writes to the cluster. Exit status: 0 when nothing would be lost, 1 when something is unsupported, unknown or\ninvalid (or a served Ingress has an error), 2 on a usage error.',
  };
  if (!command) {
    return `Portico: a Kubernetes Ingress controller on HAProxy.

Usage:
  portico serve --manifests PATH [flags]       serve traffic routed by Ingress manifests
  portico translate --manifests PATH [flags]   print the routing model and diagnostics as JSON
  portico check --manifests PATH|- [flags]     what carries over from ingress-nginx, before the switch
  portico explain --manifests PATH URL [flags] which Ingress, path, policies and Service serve a request, and why
  portico --help | portico COMMAND --help

Run "portico serve --help" for every flag.
`;
  }
  const rows = Object.entries(FLAGS)
    .filter(([, s]) => s.commands.includes(command))
    .map(([name, s]) => {
      const left = `  --${name}${s.arg ? ` ${s.arg}` : ''}`;
      const dflt = s.default !== undefined && s.default !== '' ? ` (default ${s.default})` : '';
      return `${left.padEnd(36)} ${s.help}${dflt}`;
    });
  return `${usage[command]}\n\nFlags:\n${rows.join('\n')}\n`;
}

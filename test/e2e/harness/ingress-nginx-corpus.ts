// A corpus of manifests as ingress-nginx users have them, made by the tests rather than checked in: every annotation
// family with values real charts carry, snippets (translated and not), typos of real names, invalid values, names
// ingress-nginx never had, Ingresses of another class, and Helm-rendered files (`# Source:` comments, anchors and merge
// keys). Each annotation says what Portico should make of it, so `portico check` can be judged against intent without
// restating its notes.
import { stringify } from 'yaml';

export type Intent = 'honoured' | 'unknown' | 'invalid' | 'unsupported';

export interface CorpusAnnotation {
  key: string;
  value: string;
  intent: Intent;
  /** For a typo: the real name the note must point to. For a snippet not translated: the directive the note names. */
  mentions?: string;
}

export interface CorpusIngress {
  namespace: string;
  name: string;
  /** Whether Portico (class `portico`) serves it. */
  served: boolean;
  annotations: CorpusAnnotation[];
}

export interface Corpus {
  /** File name -> text. */
  files: Map<string, string>;
  ingresses: CorpusIngress[];
}

const N = 'nginx.ingress.kubernetes.io/';
type Family = [name: string, annotations: [key: string, value: string][]];

/** Values real manifests carry, by family; every one of them is valid. */
const FAMILIES: Family[] = [
  ['redirects', [['ssl-redirect', 'false'], ['force-ssl-redirect', 'true'], ['from-to-www-redirect', 'true']]],
  ['permanent', [['permanent-redirect', 'https://new.example.com/'], ['permanent-redirect-code', '308']]],
  ['app-root', [['app-root', '/dashboard']]],
  ['rewrite', [['rewrite-target', '/$2'], ['use-regex', 'true'], ['x-forwarded-prefix', '/api']]],
  ['upstream', [['backend-protocol', 'HTTPS'], ['upstream-vhost', 'internal.example.svc'], ['proxy-ssl-verify', 'off']]],
  ['timeouts', [['proxy-connect-timeout', '10'], ['proxy-read-timeout', '3600'], ['proxy-send-timeout', '3600'], ['proxy-next-upstream', 'error timeout'], ['proxy-next-upstream-tries', '3']]],
  ['balance', [['load-balance', 'ewma'], ['upstream-hash-by', '$request_uri']]],
  ['body', [['proxy-body-size', '50m'], ['proxy-buffering', 'off'], ['proxy-buffer-size', '16k'], ['client-body-buffer-size', '1m'], ['proxy-request-buffering', 'off']]],
  ['affinity', [['affinity', 'cookie'], ['affinity-mode', 'persistent'], ['session-cookie-name', 'route'], ['session-cookie-max-age', '172800'], ['session-cookie-samesite', 'Lax']]],
  ['access', [['whitelist-source-range', '10.0.0.0/8, 192.168.0.0/16'], ['denylist-source-range', '10.9.9.9']]],
  ['basic-auth', [['auth-type', 'basic'], ['auth-secret', 'basic-auth'], ['auth-realm', 'Authentication Required']]],
  ['oauth2', [['auth-url', 'https://oauth2.example.com/oauth2/auth'], ['auth-signin', 'https://oauth2.example.com/oauth2/start?rd=$escaped_request_uri'], ['auth-response-headers', 'X-Auth-Request-User, X-Auth-Request-Email']]],
  ['limits', [['limit-rps', '10'], ['limit-connections', '20'], ['limit-burst-multiplier', '3']]],
  ['cors', [['enable-cors', 'true'], ['cors-allow-origin', 'https://app.example.com, https://*.example.org'], ['cors-allow-credentials', 'true'], ['cors-max-age', '600']]],
  ['snippet', [['configuration-snippet', 'more_set_headers "X-Frame-Options: DENY";\nadd_header X-Served-By portico;\n']]],
  ['misc', [['custom-http-errors', '404,503'], ['default-backend', 'errors'], ['service-upstream', 'true'], ['connection-proxy-header', 'keep-alive']]],
  ['mirror', [['mirror-target', 'https://mirror.example.com$request_uri'], ['mirror-request-body', 'off']]],
  ['proxy-redirect', [['proxy-redirect-from', 'http://internal.svc/'], ['proxy-redirect-to', 'https://shop.example.com/'], ['proxy-cookie-domain', 'internal.svc shop.example.com'], ['proxy-cookie-path', '/app /']]],
  ['fastcgi', [['backend-protocol', 'FCGI'], ['fastcgi-index', 'index.php']]],
  ['passthrough', [['ssl-passthrough', 'true']]],
  ['tls', [['ssl-ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256'], ['ssl-prefer-server-ciphers', 'true']]],
];

/** ingress-nginx names misspelled, or names it never had, as they turn up in real manifests; with the real name. */
const TYPOS: [key: string, value: string, real?: string][] = [
  ['client-max-body-size', '10m', 'proxy-body-size'],
  ['ssl-redirects', 'false', 'ssl-redirect'],
  ['proxy-read-timout', '60', 'proxy-read-timeout'],
  ['enable-websocket', 'true'],
  ['rate-limit', '100'],
];

/** Valid names with values their grammar refuses. */
const INVALID: [key: string, value: string][] = [
  ['proxy-body-size', '10 MB'],
  ['limit-rps', 'ten'],
  ['ssl-redirect', 'yes please'],
  ['proxy-read-timeout', '60s'],
  ['backend-protocol', 'SPDY'],
];

/** Valid values asking for what Portico cannot do. */
const UNSUPPORTED: [key: string, value: string][] = [
  ['enable-modsecurity', 'true'],
  ['limit-rate', '100'],
  ['enable-opentelemetry', 'true'],
];

/** A deterministic generator (mulberry32), so a failing corpus can be made again from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

function ingressObject(ns: string, name: string, host: string, className: string | undefined, annotations: Record<string, string>, regex: boolean): Record<string, unknown> {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: ns, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      ...(className !== undefined ? { ingressClassName: className } : {}),
      rules: [{ host, http: { paths: [{ path: regex ? '/api(/|$)(.*)' : '/', pathType: regex ? 'ImplementationSpecific' : 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
    },
  };
}

function support(ns: string): Record<string, unknown>[] {
  const svc = (name: string): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ port: 80, targetPort: 8080 }] } });
  const slice = (svcName: string, ip: string): Record<string, unknown> => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svcName}-1`, namespace: ns, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: [{ port: 8080 }],
    endpoints: [{ addresses: [ip] }],
  });
  // htpasswd -nbm alice secret
  const auth = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'basic-auth', namespace: ns }, type: 'Opaque', data: { auth: Buffer.from('alice:$apr1$HJ3Hx8gE$E7cUzhOjtgrMoumhBm7nJ/\n').toString('base64') } };
  return [svc('web'), slice('web', '10.0.0.1'), svc('errors'), slice('errors', '10.0.0.2'), auth];
}

/**
 * `count` Ingresses over a few namespaces: each carries two to four families, and about one in three also a typo, an
 * invalid value, an unsupported setting or a snippet Portico does not translate; one in eight names another class.
 */
export function ingressNginxCorpus(seed: number, count: number): Corpus {
  const r = random(seed);
  const files = new Map<string, string>();
  const ingresses: CorpusIngress[] = [];
  const namespaces = ['shop', 'payments', 'default'];
  for (const ns of namespaces) files.set(`${ns}/support.yaml`, support(ns).map((o) => stringify(o)).join('---\n'));
  for (let i = 0; i < count; i++) {
    const ns = namespaces[i % namespaces.length]!;
    const name = `app-${i}`;
    const annotations: CorpusAnnotation[] = [];
    const used = new Set<string>();
    const add = (key: string, value: string, intent: Intent, mentions?: string): void => {
      if (used.has(key)) return;
      used.add(key);
      annotations.push({ key: N + key, value, intent, ...(mentions !== undefined ? { mentions } : {}) });
    };
    const families = new Set<Family>();
    const want = 2 + Math.floor(r() * 3);
    while (families.size < want) families.add(pick(r, FAMILIES));
    for (const [, list] of families) for (const [k, v] of list) add(k, v, 'honoured');
    const odd = r();
    if (odd < 0.1) {
      const [k, v, real] = pick(r, TYPOS);
      add(k, v, 'unknown', real);
    } else if (odd < 0.2) {
      const [k, v] = pick(r, INVALID);
      if (!used.has(k)) add(k, v, 'invalid');
    } else if (odd < 0.27) {
      const [k, v] = pick(r, UNSUPPORTED);
      add(k, v, 'unsupported');
    } else if (odd < 0.33 && !used.has('configuration-snippet')) {
      add('configuration-snippet', 'more_set_headers "X-Frame-Options: DENY";\nproxy_cache_bypass $http_pragma;\n', 'unsupported', 'proxy_cache_bypass');
    }
    const other = i % 8 === 7;
    const regex = annotations.some((a) => a.key === `${N}rewrite-target`);
    const object = ingressObject(ns, name, `${name}.${ns}.example.com`, other ? 'nginx' : i % 2 === 0 ? 'portico' : undefined, Object.fromEntries(annotations.map((a) => [a.key, a.value])), regex);
    ingresses.push({ namespace: ns, name, served: !other, annotations });
    // Every third Ingress comes as Helm renders a chart: a `# Source:` comment, labels shared through an anchor and a
    // merge key; the rest as plain files, several Ingresses per file.
    if (i % 3 === 0) {
      const text = stringify(object).replace(/^metadata:\n/m, 'metadata:\n  labels: &labels\n    app.kubernetes.io/instance: release\n    helm.sh/chart: app-1.2.3\n');
      // Some charts copy their labels into the annotations through a merge key: keys check must pass over.
      const withMerge = text.replace(/^ {2}annotations:\n/m, '  annotations:\n    # shared with the labels\n    <<: *labels\n');
      files.set(`${ns}/helm-${name}.yaml`, `---\n# Source: app/templates/ingress.yaml\n${withMerge}`);
    } else {
      const file = `${ns}/ingresses-${Math.floor(i / 6)}.yaml`;
      files.set(file, `${files.get(file) ?? ''}---\n${stringify(object)}`);
    }
  }
  // An unquoted boolean: the API server would refuse the object (annotation values are strings); from a file, Portico
  // serves the Ingress without that annotation.
  files.set(
    'default/unquoted.yaml',
    `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: unquoted\n  namespace: default\n  annotations:\n    nginx.ingress.kubernetes.io/ssl-redirect: false\nspec:\n  ingressClassName: portico\n  rules:\n  - host: unquoted.example.com\n    http:\n      paths:\n      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n`,
  );
  ingresses.push({ namespace: 'default', name: 'unquoted', served: true, annotations: [{ key: `${N}ssl-redirect`, value: 'false', intent: 'invalid' }] });
  files.set('cluster/ingressclass.yaml', stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'portico.dev/ingress-controller' } }));
  return { files, ingresses };
}

/** The corpus's objects (YAML documents of every file), for the API stand-in or a `kind: List`. */
export function corpusObjects(c: Corpus, parse: (text: string) => unknown[]): Record<string, unknown>[] {
  return [...c.files.values()].flatMap((text) => parse(text)).filter((o): o is Record<string, unknown> => typeof o === 'object' && o !== null);
}

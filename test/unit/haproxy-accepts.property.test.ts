// Property: whatever the manifests hold, translate + render yield a configuration the REAL `haproxy -c` accepts
// (configuration, maps, certificates and crt-list written to a temporary directory), and every Ingress left out has
// an error diagnostic. Never a rejected candidate: render refusing a value counts as a rejection too.
//
// The manifests are generated: mostly well-formed objects (so that render has something to write) with hostile
// values mixed in: odd names, hosts and paths with every kind of character, unicode and lone surrogates, empty and
// huge strings, numbers and objects where strings belong, deep nesting, duplicate objects, and certificates HAProxy
// refuses (weak keys) or that are broken (mismatched key, garbage, no SAN, expired).
//
// Reproduce a failure: the message gives the seed and path; run
//   PORTICO_PROPERTY_SEED=<seed> PORTICO_PROPERTY_PATH=<path> node --test dist/test/unit/haproxy-accepts.property.test.js
// PORTICO_PROPERTY_RUNS sets the number of runs (default 60: about 6 s on an idle machine, 30 s on a busy one; each run
// starts `haproxy -c`, about 60 ms of CPU).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { webcrypto } from 'node:crypto';
import fc from 'fast-check';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { render } from '../../src/haproxy/render/render.js';
import { parseFlags } from '../../src/cli/flags.js';
import { edgeSettings } from '../../src/cli/render-options.js';
import type { RenderOptions } from '../../src/haproxy/render/render.js';
import { generateDefaultCertificate } from '../../src/haproxy/default-cert.js';
import { objectRef } from '../../src/translate/diagnostics.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { withDebugHeaders } from '../../src/explain/debug-headers.js';

type Obj = Record<string, unknown>;

const SEED = process.env.PORTICO_PROPERTY_SEED !== undefined ? Number(process.env.PORTICO_PROPERTY_SEED) : Date.now() % 2 ** 31;
const PATH = process.env.PORTICO_PROPERTY_PATH;
const RUNS = Number(process.env.PORTICO_PROPERTY_RUNS ?? 60);
/** Serve's own defaults for the edge rules: the configuration users run is the one checked. */
const EDGE = edgeSettings(parseFlags('serve', ['--manifests', 'unused']));
const CONTROLLER = 'portico.dev/ingress-controller';

// ---- certificates, made once with the openssl CLI ----

const work = mkdtempSync(join(tmpdir(), 'portico-property-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A self-signed certificate and its key; `newkey` as for `openssl req -newkey`, or a key file made beforehand. */
function cert(name: string, key: string[], extra: string[] = []): { crt: string; key: string } {
  openssl(['req', '-x509', ...key, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '3', ...extra]);
  return { crt: readFileSync(join(work, `${name}.crt`), 'utf8'), key: readFileSync(join(work, `${name}.key`), 'utf8') };
}

/** openssl req cannot date a certificate in the past; @peculiar/x509 (what Portico's default certificate uses) can. */
async function expiredCert(): Promise<{ crt: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const crt = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=expired',
    notBefore: new Date('2019-01-01T00:00:00Z'),
    notAfter: new Date('2020-01-01T00:00:00Z'),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.test' }])],
  });
  return { crt: crt.toString('pem'), key: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

const SAN = (host: string): string[] => ['-addext', `subjectAltName=DNS:${host}`];
openssl(['dsaparam', '-out', 'dsa.param', '1024']);
openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ed.pem']);
const CERTS = {
  ec: cert('ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], SAN('a.test')),
  rsa2048: cert('rsa2048', ['-newkey', 'rsa:2048'], SAN('*.w.test')),
  ed25519: (() => {
    openssl(['req', '-x509', '-key', 'ed.pem', '-out', 'ed.crt', '-subj', '/CN=ed', '-days', '3', ...SAN('b.test')]);
    return { crt: readFileSync(join(work, 'ed.crt'), 'utf8'), key: readFileSync(join(work, 'ed.pem'), 'utf8') };
  })(),
  noSan: cert('nosan', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1']),
  expired: await expiredCert(),
  // Keys OpenSSL's default security level (2: 112-bit keys) refuses: HAProxy cannot load them.
  rsa1024: cert('rsa1024', ['-newkey', 'rsa:1024'], SAN('a.test')),
  dsa1024: cert('dsa1024', ['-newkey', 'dsa:dsa.param'], SAN('a.test')),
  p192: cert('p192', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime192v1'], SAN('a.test')),
};
type CertName = keyof typeof CERTS;
/** A name each certificate covers (a SAN); the one without SANs covers none. */
const CERT_HOST: Record<CertName, string> = { ec: 'a.test', rsa2048: 'x.w.test', ed25519: 'b.test', noSan: 'a.test', expired: 'a.test', rsa1024: 'a.test', dsa1024: 'a.test', p192: 'a.test' };
const certNames = Object.keys(CERTS) as CertName[];

// ---- value generators ----

const NASTY = [
  '', ' ', '\t', '\n', '\r\n', '\0', '#', ';', '"', "'", '\\', '`', '%', '%[src]', '${HOME}', '{', '}', '[', ']', '|', '||', '?', '&', '*', '*.', '.', '..',
  '-', '_', '/', '//', '/../', '/%2e%2e/', '/%00', '/a b', '/a\tb', '/a?b', '/a#b', '/\u00fc', 'a,b', 'a b', 'x\ny', 'localhost', '127.0.0.1', '[::1]', '::1',
  'a.test:80', 'a.test.', 'A.TEST', 'xn--', 'xn--bcher-kva.test', '\u00fcnic\u00f6de.test', '\u202eevil', '\ud800', '\u{1f600}', 'default', 'kube-system',
  'x'.repeat(64), 'x'.repeat(254), `${'a.'.repeat(130)}test`, 'a'.repeat(70_000), 'spare_0', 'be_default_a_80', 'haproxy.cfg', '-----BEGIN CERTIFICATE-----',
  'ssl crt /etc/passwd', 'use_backend x', '0', '-1', '1e3', 'true', 'null',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abz09.-*/_:%?#~!$&\'()+,;=@ \\"<>[]{}|^`'), maxLength: 24 }) },
);

/** Deeply nested arrays and objects, as a YAML or JSON document can hold. */
const deep = fc.integer({ min: 50, max: 3000 }).map((depth) => {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
  return v;
});

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 65536, 1.5, Number.MAX_SAFE_INTEGER, Infinity, NaN)) },
  { weight: 1, arbitrary: fc.constantFrom(true, false, null, undefined, [], {}) },
  { weight: 1, arbitrary: fc.oneof(fc.array(hostileString, { maxLength: 3 }), fc.dictionary(hostileString, hostileString, { maxKeys: 3 })) },
  { weight: 1, arbitrary: deep },
);

const NAMES = ['a', 'b', 'web', 'svc-a', 'svc-b', 'ext', 'tls-a', 'tls-b', 'tls-default', `${'x'.repeat(63)}.${'y'.repeat(63)}`];
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const pem = fc.constantFrom(...certNames);

/**
 * Generators for each kind. A clean object takes only valid values (tricky ones included: wildcards, odd but legal
 * path characters, long names), so that render gets to write routes, servers and certificates; a hostile one
 * takes, for each field, sometimes a known-bad value and sometimes anything at all.
 */
function kinds(hostile: boolean) {
  /** Annotation keys, each with values its grammar accepts and hostile ones (A1: ignored, or failing closed). */
  const ANNOTATION_VALUES: Record<string, string[]> = {
    'nginx.ingress.kubernetes.io/ssl-redirect': ['true', 'false', 'anything'],
    'nginx.ingress.kubernetes.io/force-ssl-redirect': ['true', 'True'],
    'nginx.ingress.kubernetes.io/permanent-redirect': ['https://r.test/x?a=b', 'https://r.test/a b', 'https://r.test/\nbackend x'],
    'nginx.ingress.kubernetes.io/temporal-redirect-code': ['307', '399', '0x1'],
    'nginx.ingress.kubernetes.io/proxy-read-timeout': ['5', '0', '99999999999'],
    'portico.dev/proxy-body-size': ['1k', '0', '8m', '1 m', '-1'],
    'nginx.ingress.kubernetes.io/upstream-vhost': ['up.test:8080', '$host', 'a\n  server x 1.2.3.4:80'],
    'nginx.ingress.kubernetes.io/backend-protocol': ['HTTPS', 'grpc', 'GRPCS', 'h2c', 'FCGI', 'HTTPS\n  server x 1.2.3.4:80', 'proto h2 # x'],
    'nginx.ingress.kubernetes.io/whitelist-source-range': ['10.0.0.0/8, 10.1.0.0/16', '::1, 2001:db8::/32', '10.0.0.1/8', '10.0.0.0/33', '0.0.0.0/0 #x'],
    'nginx.ingress.kubernetes.io/denylist-source-range': ['10.1.2.0/24', '127.0.0.1', 'fe80::1%eth0', "1.2.3.4' }"],
    'nginx.ingress.kubernetes.io/use-regex': ['true', 'false'],
    'nginx.ingress.kubernetes.io/rewrite-target': ['/$2', '/', '$1', '/a b', '/x\n  lua-load /tmp/x'],
    'nginx.ingress.kubernetes.io/x-forwarded-prefix': ['/api', "/a'b"],
    'nginx.ingress.kubernetes.io/canary': ['true', 'false', 'yes'],
    'nginx.ingress.kubernetes.io/canary-by-header': ['X_Canary', 'x-canary', 'a b', 'x:y', 'x\n  use_backend x'],
    'nginx.ingress.kubernetes.io/canary-by-header-value': ['blue', 'v1.2/x:y~z', 'a;b', "v'1", 'a b'],
    'nginx.ingress.kubernetes.io/canary-by-header-pattern': ['^v2|beta$', 'v[0-9]{1,3}', '(a+)+', 'a;b', '[', 'a"b', '\\x'],
    'portico.dev/canary-by-cookie': ['Beta', 'a=b', 'a;b', 'x|y'],
    'nginx.ingress.kubernetes.io/canary-weight': ['0', '30', '100', '-1', '99999999999'],
    'nginx.ingress.kubernetes.io/canary-weight-total': ['1000', '0', '-5'],
    'nginx.ingress.kubernetes.io/configuration-snippet': [
      `more_set_headers "X-Frame-Options: SAMEORIGIN" 'X-Q: a "b"; #c \\\\ %[src]';\nadd_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;`,
      "proxy_set_header X-Scheme https;\nmore_clear_input_headers Cookie;\nmore_clear_headers 'X-Powered-*' Server;\nadd_header X-Ok 1;",
      "return 200 'ok; {fine}\\n';",
      'return 301 https://n.test/x?a=b&c=%41;',
      'return 444;',
      'return 503;',
      'more_set_headers "X-A: 1\n  http-request return status 200";',
      'add_header X-B "v" always;\n} http-request deny {',
      'access_by_lua_block { ngx.exit(403) }',
      'proxy_set_header X-H $host;',
      'return 301 https://$host$request_uri;',
      'return $scheme://$http_host/x?$args;',
      `more_set_headers "X-Request-Id: $request_id" 'X-Q: %[src] "$http_x_a" \\ \${cookie_s};';\nadd_header X-W "$uri$arg_p" always;`,
      "more_set_input_headers 'X-Client-IP: $remote_addr';\nproxy_set_header X-Forwarded-Uri \"$request_uri }\";\nproxy_set_header X-XFF $proxy_add_x_forwarded_for;",
      "return 200 '$remote_addr $request_method $server_port; {$query_string}\\n';",
      'add_header X-Upstream $upstream_addr;',
      'proxy_set_header X-E "${host";',
      'proxy_set_header X-E "5$";',
      `proxy_set_header X-Big "${'$host'.repeat(300)}";`,
      "add_header 'X-C\n  acl x' v;",
      'add_header X-D "unterminated;',
    ],
    'nginx.ingress.kubernetes.io/server-snippet': ["more_set_headers 'X-Served-By: p';\nadd_header X-Host 1;\nreturn 302 /login;", 'proxy_set_header X-I 1;', 'if ($host = a) { return 403; }'],
    'nginx.ingress.kubernetes.io/auth-snippet': [
      'proxy_set_header X-Api-Key k;',
      'proxy_set_header X-P "$request_uri;#{}%[src] \\" http-request deny";\nproxy_set_header Cookie "";\nmore_set_headers "X-A: 1";',
      'proxy_set_header Host evil;',
      'proxy_set_header X-A "a\n  lua-load /x";',
      `proxy_set_header X-A "${'%[src]'.repeat(200)}";`,
    ],
    'nginx.ingress.kubernetes.io/auth-keepalive': ['10', '-1', 'ten', '1\n  lua-load /x'],
    'nginx.ingress.kubernetes.io/auth-keepalive-requests': ['100', '0', '1e3'],
    'nginx.ingress.kubernetes.io/auth-keepalive-timeout': ['60', '"60"'],
    'nginx.ingress.kubernetes.io/auth-keepalive-share-vars': ['true', 'T', 'maybe'],
    'nginx.ingress.kubernetes.io/stream-snippet': ['server { listen 9000; }'],
    'nginx.ingress.kubernetes.io/affinity': ['cookie', 'Cookie', 'ip'],
    'nginx.ingress.kubernetes.io/session-cookie-name': ['route', 'a b', 'x;y', 'x\n  cookie y'],
    'nginx.ingress.kubernetes.io/session-cookie-path': ['/app', '/a;b', '/a b'],
    'nginx.ingress.kubernetes.io/session-cookie-domain': ['.example.com', 'a b', 'x;Secure'],
    'nginx.ingress.kubernetes.io/session-cookie-max-age': ['3600', '0x', '-1'],
    'nginx.ingress.kubernetes.io/session-cookie-samesite': ['None', 'lax', 'Strict;'],
    'nginx.ingress.kubernetes.io/affinity-mode': ['persistent', 'balanced', 'Persistent', 'persistent\n  use-server x', 'persistent #'],
    'nginx.ingress.kubernetes.io/session-cookie-change-on-failure': ['true', 'false', 'True', 'yes', 'true\n  option persist'],
    'nginx.ingress.kubernetes.io/satisfy': ['any', 'all', 'Any', 'any\n  lua-load /x'],
    'nginx.ingress.kubernetes.io/auth-type': ['basic', 'digest', 'digest', 'Basic', 'basic\n  lua-load /x'],
    'nginx.ingress.kubernetes.io/auth-secret': ['a', 'web', 'default/tls-a', 'other/a', 'a/b/c', 'A', '../x', 'a\n  x'],
    'nginx.ingress.kubernetes.io/auth-secret-type': ['auth-file', 'auth-map', 'auth-maps'],
    'nginx.ingress.kubernetes.io/auth-realm': ['Staff only', '', 'a"b', 'x\\', 'r%[src]', 'a\r\nSet-Cookie: x', '\u00fc', 'off'],
    'nginx.ingress.kubernetes.io/auth-url': ['https://$host/oauth2/auth', 'http://10.0.0.9:4180/oauth2/auth?x=$request_uri', 'http://a.test/$remote_port', 'http://a.test/x;y', 'http://a.test/\n  lua-load /tmp/x', "http://a.test/%[src]'", 'http://$host$request_uri'],
    'nginx.ingress.kubernetes.io/auth-signin': ['https://$host/oauth2/start?rd=$escaped_request_uri', 'https://login.test/', 'https://${host}/s?a=1&b=${scheme}', 'https://x/"y'],
    'nginx.ingress.kubernetes.io/auth-method': ['POST', 'get', 'PATCH', 'GET\n'],
    'nginx.ingress.kubernetes.io/auth-response-headers': ['X-Auth-Request-User, X-Auth-Request-Email', 'Host', 'x;y', 'a\n  b'],
    'nginx.ingress.kubernetes.io/auth-signin-redirect-param': ['return_to', 'a=b', 'a&b'],
    'nginx.ingress.kubernetes.io/auth-request-redirect': ['https://a.test/back', 'a b', '%[src]'],
    'nginx.ingress.kubernetes.io/auth-cache-key': ['$remote_user$http_authorization', '$cookie__oauth2_proxy', '$request_body', 'a;b'],
    'nginx.ingress.kubernetes.io/auth-cache-duration': ['200 202 401 5m', '5m, 401 30s', 'any 1h', '200', '200 5x'],
    'nginx.ingress.kubernetes.io/auth-always-set-cookie': ['true', 'maybe'],
    'nginx.ingress.kubernetes.io/limit-rps': ['1', '100000', '0', '-1', '100001', '10r/s', '5 # x', '1\n  server x 1.2.3.4:80'],
    'portico.dev/limit-rpm': ['7', '1000000', '+3', '1e3', "2' }"],
    'nginx.ingress.kubernetes.io/limit-connections': ['2', '1000000', '0', '99999999999', 'x'],
    'nginx.ingress.kubernetes.io/limit-burst-multiplier': ['0', '100', '101', '-5', '3.5'],
    'nginx.ingress.kubernetes.io/limit-allowlist': ['10.0.0.0/8, ::1', '10.0.0.1/8', '10.0.0.0/33', '0.0.0.0/0 #x'],
    'nginx.ingress.kubernetes.io/limit-whitelist': ['192.168.0.0/16', 'fe80::1%eth0', "1.2.3.4' }"],
    'nginx.ingress.kubernetes.io/service-upstream': ['true', 'false', 'yes'],
    'nginx.ingress.kubernetes.io/auth-tls-secret': ['default/tls-a', 'other/ca', 'a b', 'x\n  ca-file /etc/passwd'],
    'nginx.ingress.kubernetes.io/auth-tls-verify-client': ['on', 'optional', 'optional_no_ca', 'off', 'maybe'],
    'nginx.ingress.kubernetes.io/auth-tls-match-cn': ['CN=client', '(a+)+', 'CN=a b', "x'y"],
    'nginx.ingress.kubernetes.io/auth-tls-error-page': ['https://e.test/err', 'javascript:x', '@named'],
    'nginx.ingress.kubernetes.io/proxy-ssl-secret': ['default/tls-a', 'other/ca', 'a b'],
    'nginx.ingress.kubernetes.io/proxy-ssl-verify': ['on', 'off', 'maybe'],
    'nginx.ingress.kubernetes.io/proxy-ssl-name': ['backend.test', 'a b', '$host'],
    'nginx.ingress.kubernetes.io/proxy-ssl-ciphers': ['ECDHE-RSA-AES128-GCM-SHA256', 'DEFAULT:!aNULL', 'x y\n  ca-file /etc/passwd'],
    'nginx.ingress.kubernetes.io/proxy-ssl-protocols': ['TLSv1.2 TLSv1.3', 'SSLv3', 'TLSv1.3'],
    'nginx.ingress.kubernetes.io/proxy-connect-timeout': ['3', '0', '99999999999'],
    'nginx.ingress.kubernetes.io/proxy-next-upstream': ['error timeout http_503', 'off', 'http_429', 'error\n  retries 99'],
    'nginx.ingress.kubernetes.io/proxy-next-upstream-tries': ['2', '0', '-1'],
    'nginx.ingress.kubernetes.io/load-balance': ['ewma', 'round_robin', 'chash', 'ewma\n  balance source'],
    'nginx.ingress.kubernetes.io/upstream-hash-by': ['$request_uri', '$http_x_user', '${request_uri}-v1$cookie_sid$arg_id$host', '$remote_addr$binary_remote_addr$request_method$uri$args', '$request_uri\n  server evil 1.2.3.4:80', '%[src]', '$http_x)', '$cookie_a b'],
    'nginx.ingress.kubernetes.io/upstream-hash-by-subset': ['true', 'maybe'],
    'portico.dev/backend-protocol': ['FCGI', 'fcgi\n  use-fcgi-app x'],
    'nginx.ingress.kubernetes.io/fastcgi-index': ['index.php', 'main.php', '..', 'x.php\n  server evil 1.2.3.4:80', 'a b', '"x"', 'x#y', '{x}', 'use-fcgi-app', `${'i'.repeat(1 << 20)}.php`, '%[src]'],
    'portico.dev/fastcgi-index': ['app.php', 'x;y'],
    'nginx.ingress.kubernetes.io/fastcgi-params-configmap': ['fcgi-params', 'a\nb'],
    'nginx.ingress.kubernetes.io/default-backend': ['web', 'ns/web', 'A b'],
    'nginx.ingress.kubernetes.io/ssl-passthrough': ['true', 'true', 'false', 'True', 'yes', 'true\n  bind :443', '#true', '{true}'],
    'portico.dev/ssl-passthrough': ['true', 'mode tcp'],
    'nginx.ingress.kubernetes.io/disable-proxy-intercept-errors': ['true', 'false', 'yes'],
    'nginx.ingress.kubernetes.io/connection-proxy-header': ['close', 'keep-alive', 'upgrade', 'close\n  option httpclose'],
    'nginx.ingress.kubernetes.io/enable-access-log': ['false', 'true', 'False', 'no', 'false\n  log stdout format raw local0', '"false"', 'false#', '{false}'],
    'nginx.ingress.kubernetes.io/ssl-ciphers': ['ECDHE-RSA-AES256-GCM-SHA384', 'HIGH:!aNULL:!MD5', 'ECDHE+AESGCM:@STRENGTH', 'DEFAULT:@SECLEVEL=1', 'NOPE', 'DES-CBC3-SHA', 'TLS_AES_128_GCM_SHA256', 'HIGH] a.test\n/etc/passwd', 'HIGH verify none', 'HIGH:!aNULL,ECDHE'],
    'nginx.ingress.kubernetes.io/ssl-prefer-server-ciphers': ['true', 'false', 'off'],
    'nginx.ingress.kubernetes.io/limit-rate': ['100', '0', '-1'],
    'nginx.ingress.kubernetes.io/enable-modsecurity': ['true', 'nope'],
    'nginx.ingress.kubernetes.io/modsecurity-snippet': ['SecRuleEngine On\nSecRule ARGS "x" "deny"'],
    'nginx.ingress.kubernetes.io/custom-http-errors': ['404,503', '404', ' 500 , 502 ,,', '599,400,404,404', '600', '404;x', '404\n  lua-load /etc/passwd', '%34%30%34'],
    'nginx.ingress.kubernetes.io/mirror-target': ['http://mirror.test$request_uri', 'https://10.0.0.9:8443/copy?u=$escaped_request_uri&h=$host', 'http://mirror.test', 'http://$host/x', 'http://mirror.test$host', 'http://a.test/x;y', 'http://a.test/\n  lua-load /tmp/x', "http://a.test/%[src]'", 'http://u@a.test/', 'http://a.test/#x', 'http://a.test/{}', `http://a.test/${'m'.repeat(1 << 20)}`],
    'nginx.ingress.kubernetes.io/mirror-host': ['copy.test', 'copy.test:8080', 'a b', 'x\n  lua-load /tmp/x', '"quoted"', '*.test'],
    'nginx.ingress.kubernetes.io/mirror-request-body': ['on', 'off', 'OFF', 'no', 'off\n  option http-buffer-request'],
    'nginx.ingress.kubernetes.io/proxy-redirect-from': ['http://backend.internal:8080/', '~internal.?:80', 'default', 'off', '~a???', 'http://a/ http://b/', 'http://a/;b', "http://a/'}", 'http://a/\n  lua-load /tmp/x', '~', `http://${'a'.repeat(600)}/`],
    'nginx.ingress.kubernetes.io/proxy-redirect-to': ['/app/', 'https://r.test/', 'off', '/$host/', '/a#b', '/a|b', '/a\r\nSet-Cookie: x', 'x'.repeat(1 << 20)],
    'portico.dev/proxy-cookie-domain': ['.backend.internal r.test', '~internal r.test', 'off', 'a.test', 'a\tb', 'a b c', 'a;b c', '. x', `a ${'b'.repeat(513)}`],
    'nginx.ingress.kubernetes.io/proxy-cookie-path': ['/ /app/', '~/a.? /b', 'off', '/a', '/a /b /c', '/a| /b', '/a "/b"', '/a /b\n  http-response del-header x'],
    'nginx.ingress.kubernetes.io/use-port-in-redirects': ['true', 'yes'],
    'portico.dev/relative-redirects': ['true', 'false', '1\n'],
    'nginx.ingress.kubernetes.io/custom-headers': ['h', 'default/h', 'hx', 'other/h', 'missing', 'a/b/c', 'h\n  lua-load /x', 'h #x'],
    'nginx.ingress.kubernetes.io/auth-proxy-set-headers': ['hx', 'default/h', 'other/hx', 'nowhere', 'x;y'],
    'example.com/note': ['anything'],
  };
  /** `valid`; in a hostile object sometimes `bad` or anything. */
  const v = <T>(valid: fc.Arbitrary<T>, ...bad: unknown[]): fc.Arbitrary<unknown> =>
    hostile ? fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: bad.length > 0 ? fc.constantFrom(...bad) : anyValue }, { weight: 1, arbitrary: anyValue }) : valid;
  const list = <T>(a: fc.Arbitrary<T>, max = 3, min = 0): fc.Arbitrary<unknown> => v(fc.array(a, { minLength: min, maxLength: max }));

  const name = v(fc.constantFrom(...NAMES), '', 'A', '-a', 'a_b', 'a.', 'x'.repeat(254), 'a/b');
  const namespace = v(fc.constantFrom(undefined, 'default', 'default', 'other'), '', 'Kube_System', 'a.b');
  const host = v(fc.oneof(fc.constantFrom('a.test', 'b.test', '*.w.test', 'x.w.test', 'c.d.e.test', 'xn--bcher-kva.test', `${'h'.repeat(63)}.test`), fc.domain()), '*', '*.', 'a..b', 'A.TEST', 'a.test:80', '127.0.0.1', 'a.*.test', 'a test');
  const path = v(
    fc.oneof(
      fc.constantFrom('/', '/a', '/a/', '/a/b', '/.well-known/acme-challenge/x', '/a%20b', "/a~b!$&'()*+,;=:@", '/*', `/${'p'.repeat(2000)}`),
      // Regular expressions, for the Ingresses with use-regex or rewrite-target (and hostile ones).
      fc.constantFrom('/api(/|$)(.*)', '/v[0-9]+/x', '/[^/]+/x{1,3}', '/a\\.b', '/(a+)+', '/x(', '/a|/b', '/[\\]]'),
      fc.webPath().filter((p) => p.startsWith('/') && !/\/\.{0,2}(\/|$)/.test(p.slice(1))),
      fc.string({ unit: fc.constantFrom(...'/abc.-_~!$&\'()*+,;=:@'), maxLength: 20 }).map((s) => `/${s}`),
    ),
    '', 'a', '/a b', '/a?b', '/a#b', '/\u00fc', '/a"b', `/${'p'.repeat(3000)}`, '/a\nb', '/%', '/a//b', '/a/./b', '/a/../b',
  );
  const pathType = v(fc.constantFrom('Prefix', 'Exact', 'ImplementationSpecific'), 'prefix', '');
  const port = v(fc.constantFrom<unknown>({ number: 80 }, { number: 8080 }, { name: 'http' }), { number: 0 }, { number: 65536 }, { number: '80' }, { name: 80 }, { number: 1.5 }, {}, { name: 'HTTP' });
  const backend = v(fc.record({ service: v(fc.record({ name, port })) }), { resource: { apiGroup: 'x', kind: 'y', name: 'z' } }, { service: { name: 'a' } });
  const annotations = v(
    fc.option(
      fc.dictionary(
        fc.constantFrom(...Object.keys(ANNOTATION_VALUES)),
        // A value meant for another key too: every grammar meets every other family's values.
        fc.constantFrom(...Object.values(ANNOTATION_VALUES).flat()),
        { maxKeys: 4 },
      ),
      { nil: undefined },
    ),
    { 'kubernetes.io/ingress.class': 'other' },
    { 'kubernetes.io/ingress.class': 'portico' },
  );
  const meta = (extra: Record<string, fc.Arbitrary<unknown>> = {}) => fc.record({ name, namespace, annotations, ...extra }, { requiredKeys: ['name'] });

  const ingress = fc.record(
    {
      apiVersion: fc.constant('networking.k8s.io/v1'),
      kind: fc.constant('Ingress'),
      metadata: meta({ creationTimestamp: v(fc.constantFrom('2024-01-01T00:00:00Z', '2023-06-01T00:00:00Z'), 'yesterday') }),
      spec: v(
        fc.record(
          {
            ingressClassName: v(fc.constantFrom(undefined, 'portico', 'portico', 'other')),
            defaultBackend: fc.option(backend, { nil: undefined }),
            tls: list(fc.record({ hosts: list(host), secretName: name }, { requiredKeys: [] })),
            rules: list(fc.record({ host: fc.option(host, { nil: undefined }), http: v(fc.record({ paths: list(fc.record({ path, pathType, backend }, { requiredKeys: hostile ? ['pathType', 'backend'] : ['path', 'pathType', 'backend'] }), 4, 1) })) }, { requiredKeys: ['http'] }), 4),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: ['apiVersion', 'kind', 'metadata'] },
  );

  const service = fc.record({
    apiVersion: fc.constant('v1'),
    kind: fc.constant('Service'),
    metadata: meta(),
    spec: v(
      fc.oneof(
        fc.record({ type: fc.constantFrom(undefined, 'ClusterIP', 'NodePort'), ports: list(fc.record({ name: fc.constantFrom(undefined, 'http', 'https'), port: fc.constantFrom(80, 443, 8080), targetPort: v(fc.constantFrom(3000, 'http')), protocol: fc.constantFrom('TCP') }, { requiredKeys: ['port'] }), 2, 1) }, { requiredKeys: [] }),
        fc.record({ type: fc.constant('ExternalName'), externalName: v(fc.oneof(fc.constantFrom('ext.example.com', 'a.test'), fc.domain()), 'localhost', '10.0.0.1', 'a..b', 'a.test.', '-a.test', 'a_b.test'), ports: fc.constant([{ port: 80 }]) }),
      ),
      { type: 'ExternalName' },
      { ports: [{ port: 'eighty' }] },
      { type: 'LoadBalancer', ports: [{ port: 80, targetPort: -1 }] },
    ),
  });

  const address = v(fc.oneof(fc.constantFrom('127.0.0.1', '10.0.0.1', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::1'), fc.ipV4(), fc.ipV6()), 'fe80::1%eth0', '1.2.3.4 ', '01.2.3.4', '::ffff:1.2.3.4', '1.2.3', '[::1]', 'a.test', '1.2.3.4:80');
  const endpointSlice = fc.record({
    apiVersion: fc.constant('discovery.k8s.io/v1'),
    kind: fc.constant('EndpointSlice'),
    metadata: meta({ labels: v(fc.record({ 'kubernetes.io/service-name': name })) }),
    addressType: v(fc.constantFrom('IPv4', 'IPv6'), 'FQDN', 'ipv4'),
    ports: list(fc.record({ name: fc.constantFrom(undefined, 'http'), port: v(fc.constantFrom(3000, 80, 65535), 0, 65536, '3000'), protocol: v(fc.constant('TCP'), 'UDP', 'SCTP') }, { requiredKeys: ['port'] }), 2, 1),
    endpoints: list(
      fc.record({ addresses: list(address, 2, 1), conditions: v(fc.record({ ready: v(fc.boolean()), serving: v(fc.boolean()), terminating: v(fc.boolean()) }, { requiredKeys: [] })) }, { requiredKeys: ['addresses'] }),
      4,
    ),
  });

  const secretData = v(
    fc.oneof(
      // A certificate, perhaps followed by another as its chain, and a key that may not be its own.
      { weight: 3, arbitrary: fc.tuple(pem, fc.option(pem, { nil: undefined })).map(([c, chain]) => ({ 'tls.crt': b64(CERTS[c].crt + (chain ? CERTS[chain].crt : '')), 'tls.key': b64(CERTS[c].key) })) },
      { weight: 1, arbitrary: fc.tuple(pem, pem).map(([c, k]) => ({ 'tls.crt': b64(CERTS[c].crt), 'tls.key': b64(CERTS[k].key) })) },
    ),
    { 'tls.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), 'tls.key': b64(CERTS.ec.key) },
    { 'tls.crt': 'not base64!', 'tls.key': '' },
    // Basic authentication's users (auth-file and auth-map), hostile lines among them.
    {
      auth: b64(
        'ann:$apr1$YiVlypKa$v4rRDIol5x3Lphv42N5s4.\nbob:$2y$05$J73dRADuZsj1T/2iRmfZ2OzZ1GSKD8mP2fCDG5iz7V690bSah/xi6\n# c\n' +
          'a b#c:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=\nx\n  http-request deny:$apr1$a$b\n\u00fc\u00df:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=\nev:$apr1$YiVlypKa$v4rRDIol5x3Lphv42N5s4.\n  lua-load /x\n' +
          'pl:{PLAIN}a "b" %[src] #c {d}\nsx:{SSHA}' + Buffer.alloc(24, 1).toString('base64') + '\nde:h/KmlxnbZaNF.\nsix:$6$rounds=5000$salt$' + 'a'.repeat(86) + '\nbig:$5$rounds=99999999$s$' + 'a'.repeat(43) + '\nss:{SSHA}AAAA\n  lua-load /x\n' +
          'dg:Staff only:0123456789abcdef0123456789abcdef\ndq:a"b:0123456789abcdef0123456789abcdef\ndr::0123456789abcdef0123456789abcdef %[src]\n',
      ),
      mia: b64('$apr1$jbFu3afF$wJyU3ET6AXlqyWUmjPY7k0'),
      'x.y': b64('{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY= %[src]'),
    },
    { 'tls.crt': b64(CERTS.ec.crt + CERTS.ec.key), 'tls.key': b64(CERTS.ec.key) },
    {},
  );
  const secret = fc.record(
    {
      apiVersion: fc.constant('v1'),
      kind: fc.constant('Secret'),
      metadata: meta(),
      type: v(fc.constant('kubernetes.io/tls'), 'Opaque'),
      data: secretData,
      stringData: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: v(pem.map((c) => ({ 'tls.crt': CERTS[c].crt, 'tls.key': CERTS[c].key }))) }),
    },
    { requiredKeys: ['apiVersion', 'kind', 'metadata', 'data'] },
  );

  // The ConfigMaps of custom-headers and auth-proxy-set-headers: header names and values from the plausible to the
  // hostile (framing headers, Host, dots, line breaks, `%[`, braces, unknown nginx variables, 5,000 characters).
  const headerKey = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('X-A', 'x-a', 'X-Frame-Options', 'Content-Security-Policy', 'Transfer-Encoding', 'Host', 'x.y', 'X-Portico-Route', 'a b', 'X_Under') }, { weight: 1, arbitrary: hostileString });
  const headerValue = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('DENY', "default-src 'self'; #x", '$host', '${http_x_tenant}@$request_uri', '$msec', '$', 'a\nb', '%[src]', '" }\n  lua-load /x', '', 'x'.repeat(5000), '{ } ;') },
    { weight: 1, arbitrary: hostileString },
  );
  const configMap = fc.record({
    apiVersion: fc.constant('v1'),
    kind: fc.constant('ConfigMap'),
    metadata: fc.record({ name: v(fc.constantFrom('h', 'hx', 'kube-root-ca.crt')), namespace }, { requiredKeys: ['name'] }),
    data: v(fc.dictionary(headerKey, headerValue, { maxKeys: 40 })),
  });

  // Ours ("portico", by our controller), or another controller's ("other"); either may be the default.
  const ingressClass = fc.tuple(fc.constantFrom(['portico', CONTROLLER], ['other', 'k8s.io/ingress-nginx']), fc.boolean()).chain(([[className, controller], isDefault]) =>
    fc.record({
      apiVersion: fc.constant('networking.k8s.io/v1'),
      kind: fc.constant('IngressClass'),
      metadata: fc.record({ name: v(fc.constant(className)), annotations: v(fc.constant(isDefault ? { 'ingressclass.kubernetes.io/is-default-class': 'true' } : undefined)) }, { requiredKeys: ['name'] }),
      spec: v(fc.record({ controller: v(fc.constant(controller)) }), { controller: CONTROLLER, parameters: { kind: 'x' } }),
    }),
  );

  /** An app whose objects fit together: an Ingress, its Service and endpoints, perhaps a TLS Secret. */
  const app = fc
    .record({
      name: fc.constantFrom('app-a', 'app-b', 'app-c', 'app-d'),
      namespace: fc.constantFrom('default', 'other'),
      // Mostly names the test certificates cover.
      hosts: fc.array(fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a.test', 'b.test', 'x.w.test', '*.w.test') }, { weight: 1, arbitrary: host }), { minLength: 1, maxLength: 2 }),
      paths: fc.array(fc.tuple(path, pathType), { minLength: 1, maxLength: 3 }),
      addresses: fc.array(address, { maxLength: 3 }),
      named: fc.boolean(),
      externalName: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: v(fc.domain()) }),
      // Two apps in three have TLS: fewer, and with canaries (whose TLS is ignored) some seeds reached no certificate.
      tls: fc.option(fc.tuple(pem, fc.option(pem, { nil: undefined })), { nil: undefined, freq: 3 }),
      mode: fc.constantFrom('rules', 'rules', 'defaultBackend'),
      coverHost: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      // A ConfigMap of headers the Ingress names: custom-headers, or auth-proxy-set-headers with an auth-url.
      headers: fc.option(fc.tuple(fc.constantFrom('custom-headers', 'auth-proxy-set-headers'), fc.dictionary(headerKey, headerValue, { minKeys: 1, maxKeys: 40 })), { nil: undefined, freq: 2 }),
    })
    .map((a): Obj[] => {
      const metadata = { name: a.name, namespace: a.namespace };
      const port = a.named ? { name: 'http' } : { number: 80 };
      const backend = { service: { name: a.name, port } };
      const spec: Obj =
        a.mode === 'defaultBackend'
          ? { ingressClassName: 'portico', defaultBackend: backend }
          : { ingressClassName: 'portico', rules: a.hosts.map((h) => ({ host: h, http: { paths: a.paths.map(([p, t]) => ({ path: p, pathType: t, backend })) } })) };
      // Usually a host the certificate covers, so that it is bound and written out.
      if (a.tls && a.mode === 'rules' && a.coverHost) (spec.rules as Obj[]).unshift({ host: CERT_HOST[a.tls[0]], http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } });
      if (a.tls) spec.tls = [{ hosts: [...(a.coverHost ? [CERT_HOST[a.tls[0]]] : []), ...a.hosts], secretName: `${a.name}-tls` }];
      const annotations: Record<string, string> = {};
      if (a.headers) {
        annotations[`nginx.ingress.kubernetes.io/${a.headers[0]}`] = `${a.name}-h`;
        if (a.headers[0] === 'auth-proxy-set-headers') annotations['nginx.ingress.kubernetes.io/auth-url'] = 'http://auth.test/check?u=$request_uri';
      }
      const out: Obj[] = [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { ...metadata, annotations }, spec }];
      if (a.headers) out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${a.name}-h`, namespace: a.namespace }, data: a.headers[1] });
      out.push(
        a.externalName !== undefined
          ? { apiVersion: 'v1', kind: 'Service', metadata, spec: { type: 'ExternalName', externalName: a.externalName, ports: [{ name: 'http', port: 80 }] } }
          : { apiVersion: 'v1', kind: 'Service', metadata, spec: { ports: [{ name: 'http', port: 80, targetPort: 3000 }] } },
      );
      out.push({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${a.name}-1`, namespace: a.namespace, labels: { 'kubernetes.io/service-name': a.name } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 3000, protocol: 'TCP' }],
        endpoints: a.addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      });
      if (a.tls) {
        const [c, chain] = a.tls;
        out.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `${a.name}-tls`, namespace: a.namespace }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(CERTS[c].crt + (chain ? CERTS[chain].crt : '')), 'tls.key': b64(CERTS[c].key) } });
      }
      return out;
    });

  const single = fc.oneof({ weight: 8, arbitrary: ingress }, { weight: 4, arbitrary: service }, { weight: 4, arbitrary: endpointSlice }, { weight: 4, arbitrary: secret }, { weight: 2, arbitrary: configMap }, { weight: 1, arbitrary: ingressClass });
  return fc.oneof({ weight: 2, arbitrary: single.map((o) => [o as Obj]) }, { weight: 1, arbitrary: app });
}

const objects = fc
  .tuple(
    fc.array(fc.oneof({ weight: 3, arbitrary: kinds(false) }, { weight: 2, arbitrary: kinds(true) }), { maxLength: 10 }),
    fc.array(fc.nat(), { maxLength: 3 }),
  )
  // Duplicates: the same object again, as a second file or a repeated document would hold it.
  .map(([groups, again]) => {
    const list = groups.flat();
    return list.length === 0 ? list : [...list, ...again.map((i) => list[i % list.length]!)];
  });

// The settings ConfigMap's client-address keys (--configmap portico/settings): plausible values and hostile ones,
// which must be refused (G1) while the rest renders.
const clientAddressValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('true', 'false', 'True', '1', 'X-Forwarded-For', 'CF-Connecting-IP', '10.0.0.0/8, 2001:db8::/32', '0.0.0.0/0', '127.0.0.1', '5s') },
  { weight: 1, arbitrary: fc.constantFrom('10.0.0.0/8 }', '10.0.0.0/8\n', 'x-ff if TRUE', 'Host', 'X_FF', '{ src 0.0.0.0/0 }', '#', '"', 'a'.repeat(1 << 20), Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).join(',')) },
  { weight: 1, arbitrary: hostileString },
);
const clientAddressSettings = fc.dictionary(
  fc.constantFrom('use-forwarded-headers', 'enable-real-ip', 'use-proxy-protocol', 'compute-full-forwarded-for', 'forwarded-for-header', 'proxy-real-ip-cidr', 'proxy-protocol-header-timeout', 'forwarded-for-proxy-protocol-header'),
  clientAddressValue,
  { maxKeys: 8 },
);


// The settings ConfigMap (--configmap portico/settings): its access keys (block lists, access-list defaults, global
// authentication) with values from the plausible to the hostile (line breaks, quotes, `#`, braces, HAProxy keywords,
// exponential and non-compiling regexes, a megabyte), each alone or together.
const ACCESS_KEYS = ['block-cidrs', 'block-user-agents', 'block-referers', 'whitelist-source-range', 'denylist-source-range', 'global-auth-url', 'global-auth-method', 'global-auth-signin', 'global-auth-response-headers', 'global-auth-request-redirect', 'global-auth-snippet', 'global-auth-cache-key', 'global-auth-cache-duration', 'no-auth-locations'];
const accessValue = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '10.0.0.0/8, 192.0.2.7', '2001:db8::/32', '', '127.0.0.0/8,,', 'curl/7.1, "Bad Bot 1.0", ~*(wget|python), ~^Evil', '~*casino, spam.test', '~(a+)+$', '~[z-a]', '~(?=x)', '~*a\\sb',
      'http://auth.test/check?u=$escaped_request_uri', 'https://$host/oauth2/start', 'X-Auth-Request-User, X-Auth-Request-Email', 'proxy_set_header X-A $host;', 'proxy_set_header X-A "a\nb";',
      '$cookie__oauth2_proxy', '200 1m, 401 10s', 'PATCH', '/.well-known/acme-challenge,/public', 'default', '#x', 'a}\n  http-request allow', '" if TRUE #', 'x'.repeat(1 << 20), '10.0.0.0/8\n  http-request allow',
    ),
  },
  { weight: 1, arbitrary: hostileString },
);
const accessSettings = fc.dictionary(fc.constantFrom(...ACCESS_KEYS), accessValue, { maxKeys: 6 });

// Either family alone, or both in one ConfigMap.
const settingsData = fc
  .tuple(fc.option(clientAddressSettings, { nil: undefined }), fc.option(accessSettings, { nil: undefined }))
  .map(([a, b]) => ({ ...a, ...b }));

// The settings ConfigMap (--configmap portico/settings) with the HTTP and TLS tuning keys, values from the plausible to
// the hostile, and the ConfigMap of headers add-headers and proxy-set-headers may name (portico/h).
const SETTINGS_HTTP_KEYS = ['add-headers', 'proxy-set-headers', 'hide-headers', 'use-http2', 'enable-underscores-in-headers', 'ignore-invalid-headers', 'large-client-header-buffers', 'http2-max-concurrent-streams', 'load-balance', 'upstream-keepalive-connections', 'max-worker-connections', 'ssl-session-cache', 'ssl-session-cache-size', 'ssl-session-timeout', 'ssl-ecdh-curve'];
const settingValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('true', 'false', '0', '50', '4 8k', '32 8k', '2 1k', 'X25519:prime256v1', 'secp384r1', 'auto', '10m', '7d', 'ewma', 'portico/h', 'portico/missing', 'X-Powered-By, Server', '9000') },
  { weight: 1, arbitrary: hostileString },
);
/** Mostly the ConfigMap of headers that exists, so that runs reach its rules. */
const headerRef = fc.oneof({ weight: 4, arbitrary: fc.constant('portico/h') }, { weight: 1, arbitrary: settingValue });
const headerName = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('X-A', 'X-Frame-Options', 'Transfer-Encoding', 'Host', 'x.y', 'X_Under', 'X-Forwarded-For') }, { weight: 1, arbitrary: hostileString });
const globalHeaderValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('DENY', "default-src 'self'; #x", '$host', '$scheme://$host$request_uri', '${http_x_tenant}@$remote_addr:$server_port', '$cookie_a $arg_b $args', '$msec', '$', '', '" }\n  lua-load /x', '%[src]', 'x'.repeat(5000)) },
  { weight: 1, arbitrary: hostileString },
);
// The settings ConfigMap (--configmap portico/settings): keys of the registry with values their grammars accept,
// values they refuse, and hostile strings under any key. Render must write a valid configuration whatever it holds.
const SETTING_VALUES: Record<string, readonly string[]> = {
  'use-gzip': ['true', 'false', 'yes'],
  'gzip-types': ['text/css application/json', '*', 'text/css # x', 'a\nb', 'TEXT/Plain', '$x/y'],
  'gzip-level': ['1', '9', '10'],
  'worker-processes': ['auto', '2', '64', '65', '-1'],
  'disable-ipv6': ['true', 'false'],
  'generate-request-id': ['false', 'true'],
  'proxy-add-original-uri-header': ['true', 'false'],
  'proxy-next-upstream': ['error timeout http_502', 'off', 'non_idempotent', 'http_429'],
  'proxy-next-upstream-tries': ['0', '2', '1001'],
  'service-upstream': ['true', 'false'],
  'preserve-trailing-slash': ['true'],
  'proxy-cookie-path': ['/app/ /', '~^/x /y', 'off'],
  'proxy-redirect-from': ['http://a.test/', 'off'],
  'proxy-redirect-to': ['https://b.test/', 'off'],
  'retry-non-idempotent': ['true', 'false'],
  'global-allowed-response-headers': ['X-A,X-Frame-Options', '', 'a b', 'x-a'],
  'no-tls-redirect-locations': ['/health', '/.well-known/acme-challenge,/', 'x'],
  'main-snippet': ['load_module x;\n}', ''],
  'enable-modsecurity': ['true'],
  'custom-http-errors': ['404,503', 'x'],
  'disable-access-log': ['true', 'false', 'off'],
  'skip-access-log-urls': ['/healthz,/metrics?x=1', '', 'a\n  log stdout format raw local0', '"}{', 'x'.repeat(20_000)],
  'enable-access-log-for-default-backend': ['true', 'false'],
  'log-format-upstream': ['$remote_addr $request', '" }\n  log-format x'],
};
const settingKey = fc.constantFrom(...Object.keys(SETTING_VALUES));
/** The remaining keys (compression, listeners, annotation defaults, what HAProxy lacks), as data entries. */
const restSettings = fc
  .array(fc.oneof({ weight: 4, arbitrary: settingKey.chain((k) => fc.tuple(fc.constant(k), fc.constantFrom(...SETTING_VALUES[k]!))) }, { weight: 1, arbitrary: fc.tuple(settingKey, hostileString) }), { maxLength: 12 })
  .map((entries) => Object.fromEntries(entries));

// The settings ConfigMap with keys of every family (client addresses, access, HTTP and TLS tuning, the rest), and the
// ConfigMap of headers add-headers and proxy-set-headers may name.
const settingsObjects = fc.option(
  fc
    .tuple(settingsData, fc.record(Object.fromEntries(SETTINGS_HTTP_KEYS.map((k) => [k, k.endsWith('-headers') && k !== 'hide-headers' ? headerRef : settingValue])), { requiredKeys: [] }), restSettings, fc.dictionary(headerName, globalHeaderValue, { maxKeys: 40 }))
    .map(([families, http, rest, headers]): Obj[] => [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'portico' }, data: { ...families, ...http, ...rest } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'h', namespace: 'portico' }, data: headers },
    ]),
  { nil: undefined, freq: 2 },
);

const options = fc.record({
  settings: settingsObjects,
  sslRedirect: fc.boolean(),
  /** Manifest mode (an implicit IngressClass), or API mode, where our IngressClass is usually defined. */
  manifests: fc.boolean(),
  ourClass: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  defaultCertificateSecret: fc.constantFrom(undefined, 'default/tls-default', 'default/tls-a'),
});

// ---- the property ----

function haproxyCheck(config: string): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('haproxy', ['-c', '-f', config], { timeout: 30_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => resolve({ ok: !err, output: `${stdout}${stderr}` }));
  });
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

test(`translate + render always give a configuration haproxy -c accepts (seed ${SEED}, ${RUNS} runs)`, async (t) => {
  const defaultCertPem = await generateDefaultCertificate();
  let run = 0;
  // How often the generated input reached each part of the configuration: a property that only ever sees input
  // translate throws away proves nothing about render.
  const reached = { hostGroups: 0, servers: 0, certificates: 0, externalName: 0, catchAll: 0, configMapHeaders: 0, clientAddress: 0, settingsBlockLists: 0, globalHeaders: 0, settings: 0 };
  await fc.assert(
    fc.asyncProperty(objects, options, async (objs, o) => {
      const ours = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: CONTROLLER } };
      const files = new Map([['generated.yaml', objs]]);
      if (!o.manifests && o.ourClass) files.set('class.yaml', [ours]);
      if (o.settings) files.set('settings.yaml', o.settings);
      const { snapshot } = snapshotFromFiles(files);
      const opts: TranslateOptions = {
        controllerName: CONTROLLER,
        ingressClass: 'portico',
        implicitIngressClass: o.manifests,
        checkCreateOnlyRules: o.manifests,
        sslRedirect: o.sslRedirect,
        defaultCertificateSecret: o.defaultCertificateSecret,
        ...(o.settings ? { configMap: 'portico/settings' } : {}),
      };
      const result = translate(snapshot, opts);
      const m = result.model;
      if (m.hostGroups.length > 0) reached.hostGroups++;
      if (m.backends.some((b) => b.servers.length > 0)) reached.servers++;
      if (m.certificates.length > 0) reached.certificates++;
      if (m.backends.some((b) => b.externalName)) reached.externalName++;
      if (m.catchAll) reached.catchAll++;
      const routes = m.hostGroups.flatMap((g) => [...g.exact, ...g.prefix, ...(g.regex ?? []), ...(g.defaultBackend ? [g.defaultBackend] : [])]);
      if (routes.some((r) => r.policy.customHeaders || r.policy.externalAuth?.proxySetHeaders)) reached.configMapHeaders++;
      if (m.global?.useForwardedHeaders || m.global?.useProxyProtocol || m.global?.enableRealIp) reached.clientAddress++;
      if (m.global?.blockCidrs?.length || m.global?.blockUserAgents?.length || m.global?.blockReferers?.length) reached.settingsBlockLists++;
      if (m.global?.addHeaders || m.global?.proxySetHeaders) reached.globalHeaders++;
      if (m.global !== undefined) reached.settings++;
      const dir = join(work, `run-${++run}`);
      // Every third run as --debug-headers gives it to HAProxy (explain's route names as map data).
      const check = await renderAndCheck(run % 3 === 0 ? withDebugHeaders(result.model) : result.model, dir, defaultCertPem);
      assert.ok(check.ok, `haproxy -c rejected the candidate:\n${check.output}`);

      // Every Ingress left out as invalid says why (rule C8 keeps Ingresses that declare another class quiet).
      const invalid = new Set(result.model.ingresses.filter((s) => !s.valid).map((s) => s.ingress));
      for (const raw of snapshot.ingresses) {
        const m = (typeof raw.metadata === 'object' && raw.metadata !== null ? raw.metadata : {}) as Obj;
        const ns = str(m.namespace) || 'default';
        if (!invalid.has(`${ns}/${str(m.name)}`)) continue;
        const spec = (typeof raw.spec === 'object' && raw.spec !== null ? raw.spec : {}) as Obj;
        const annotation = typeof m.annotations === 'object' && m.annotations !== null ? (m.annotations as Obj)['kubernetes.io/ingress.class'] : undefined;
        if (typeof spec.ingressClassName === 'string' || typeof annotation === 'string') continue;
        const ref = objectRef('Ingress', { namespace: ns, name: str(m.name) });
        assert.ok(
          result.diagnostics.some((d) => d.object === ref && d.level === 'error'),
          `${ref} is left out without an error diagnostic: ${JSON.stringify(result.diagnostics.filter((d) => d.object === ref))}`,
        );
      }
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true, ...(PATH !== undefined ? { path: PATH } : {}), endOnFailure: PATH !== undefined },
  );
  t.diagnostic(`runs that reached each part: ${JSON.stringify(reached)} of ${run}`);
  if (PATH === undefined && RUNS >= 60) for (const [part, n] of Object.entries(reached)) assert.ok(n > 0, `no run reached ${part}: the generators need tuning`);
});

/** Renders `model` into `dir`, runs `haproxy -c` on it and removes it. */
async function renderAndCheck(model: Parameters<typeof render>[0], dir: string, defaultCertPem: string): Promise<{ ok: boolean; output: string }> {
  const artefacts = render(model, checkOptions(dir), defaultCertPem);
  for (const [rel, content] of artefacts.files) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  await writeFile(join(dir, 'haproxy.cfg'), artefacts.config);
  const check = await haproxyCheck(join(dir, 'haproxy.cfg'));
  await rm(dir, { recursive: true, force: true });
  return check;
}

/** The render options of a check: everything under `dir`. */
function checkOptions(dir: string): RenderOptions {
  return {
    stateDir: work,
    filesDir: dir,
    httpPort: 18080,
    httpsPort: 18443,
    bindAddress: '127.0.0.1',
    ipv6: false,
    threads: 1,
    resolvers: ['127.0.0.1:53'],
    httpsRedirectPort: 443,
    maxConnections: 1000,
    hardStopAfterSeconds: 10,
    serverHeader: 'portico',
    spareBackends: 1,
    timeouts: { connect: 5, client: 50, server: 50, tunnel: 3600, httpRequest: 10, keepAlive: 60 },
    edge: EDGE,
  };
}

test('every annotation family at once (each golden case in a namespace of its own, and the degenerate cases): haproxy -c accepts', async () => {
  const goldens = join(process.cwd(), 'test', 'golden');
  const objects: Record<string, unknown>[] = [];
  for (const name of readdirSync(goldens).filter((n) => n.startsWith('annotations-')).sort()) {
    const parsed = parseManifestText(readFileSync(join(goldens, name, 'in.yaml'), 'utf8'));
    assert.ok(parsed.ok, name);
    for (const o of parsed.objects) {
      const meta = (o.metadata ?? {}) as Record<string, unknown>;
      objects.push({ ...o, metadata: { ...meta, namespace: name.slice('annotations-'.length) } });
    }
  }
  // What a family's rules must survive (found in review): an allow list inside its own deny list (no flip at all), and a
  // basic-auth Secret whose every line is refused (no user at all), each the only one of its kind; and satisfy: any on
  // a route with both.
  const degenerate = parseManifestText(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: covered-any, namespace: degenerate, annotations: {nginx.ingress.kubernetes.io/allowlist-source-range: 10.1.0.0/16, nginx.ingress.kubernetes.io/denylist-source-range: 10.0.0.0/8, nginx.ingress.kubernetes.io/auth-type: basic, nginx.ingress.kubernetes.io/auth-secret: nobody, nginx.ingress.kubernetes.io/satisfy: any}}
spec: {ingressClassName: portico, rules: [{host: covered-any.degenerate.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: covered, namespace: degenerate, annotations: {nginx.ingress.kubernetes.io/allowlist-source-range: 10.1.0.0/16, nginx.ingress.kubernetes.io/denylist-source-range: 10.0.0.0/8}}
spec: {ingressClassName: portico, rules: [{host: covered.degenerate.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: nobody, namespace: degenerate, annotations: {nginx.ingress.kubernetes.io/auth-type: basic, nginx.ingress.kubernetes.io/auth-secret: nobody}}
spec: {ingressClassName: portico, rules: [{host: nobody.degenerate.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---
apiVersion: v1
kind: Secret
metadata: {name: nobody, namespace: degenerate}
stringData: {auth: "x\n"}
`);
  assert.ok(degenerate.ok);
  const model = (objs: unknown[]) => translate(snapshotFromFiles(new Map([['all.yaml', objs as Record<string, unknown>[]]])).snapshot, { controllerName: CONTROLLER, ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true }).model;
  const defaultCertPem = await generateDefaultCertificate();
  for (const [label, objs, debug] of [['all families', objects, false], ['degenerate cases alone', degenerate.objects, false], ['all families with --debug-headers', objects, true]] as const) {
    const dir = join(work, `together-${label.replace(/ /g, '-')}`);
    const check = await renderAndCheck(debug ? withDebugHeaders(model(objs)) : model(objs), dir, defaultCertPem);
    assert.ok(check.ok, `${label}: haproxy -c rejected it:\n${check.output}`);
    assert.doesNotMatch(check.output, /more than once|WARNING/i, label);
  }
});

test("the settings ConfigMap's access keys (each configmap-access* golden case, and a megabyte of hostile values): haproxy -c accepts", async () => {
  const goldens = join(process.cwd(), 'test', 'golden');
  const defaultCertPem = await generateDefaultCertificate();
  const settings = { 'block-user-agents': `${'~*a'.repeat(1 << 18)}`, 'block-cidrs': '10.0.0.0/8\n  http-request allow', 'whitelist-source-range': '" #', 'global-auth-url': 'http://a.test/x}\n  lua-load /x' };
  const cases: [string, Record<string, unknown>[]][] = readdirSync(goldens)
    .filter((n) => n.startsWith('configmap-access'))
    .sort()
    .map((name) => {
      const parsed = parseManifestText(readFileSync(join(goldens, name, 'in.yaml'), 'utf8'));
      assert.ok(parsed.ok, name);
      return [name, parsed.objects];
    });
  assert.ok(cases.length >= 2);
  const app = parseManifestText('apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: a, namespace: d}\nspec: {ingressClassName: portico, rules: [{host: a.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}\n');
  assert.ok(app.ok);
  cases.push(['hostile', [...app.objects, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'portico' }, data: settings }]]);
  for (const [name, objs] of cases) {
    const result = translate(snapshotFromFiles(new Map([['all.yaml', objs]])).snapshot, { controllerName: CONTROLLER, ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' });
    assert.ok(result.model.global, `${name}: the ConfigMap was read`);
    const check = await renderAndCheck(result.model, join(work, `settings-${name}`), defaultCertPem);
    assert.ok(check.ok, `${name}: haproxy -c rejected it:\n${check.output}`);
    assert.doesNotMatch(check.output, /WARNING/i, name);
  }
});

test('each settings ConfigMap golden case (configmap-*, with its options): haproxy -c accepts it without a warning', async () => {
  const goldens = join(process.cwd(), 'test', 'golden');
  const defaultCertPem = await generateDefaultCertificate();
  for (const name of readdirSync(goldens).filter((n) => n.startsWith('configmap-')).sort()) {
    const parsed = parseManifestText(readFileSync(join(goldens, name, 'in.yaml'), 'utf8'));
    assert.ok(parsed.ok, name);
    const extra = JSON.parse(readFileSync(join(goldens, name, 'options.json'), 'utf8')) as Partial<TranslateOptions>;
    const m = translate(snapshotFromFiles(new Map([['all.yaml', parsed.objects]])).snapshot, { controllerName: CONTROLLER, ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, ...extra }).model;
    assert.ok(m.global, `${name}: the settings were read`);
    const check = await renderAndCheck(m, join(work, `golden-${name}`), defaultCertPem);
    assert.ok(check.ok, `${name}: haproxy -c rejected it:\n${check.output}`);
    assert.doesNotMatch(check.output, /more than once|WARNING/i, name);
  }
});

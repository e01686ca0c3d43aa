// The settings ConfigMap's remaining keys (settings/compression.ts, listeners.ts, route-defaults.ts, logging.ts,
// not-in-haproxy.ts): each grammar and G4 note, hostile values refused with G1 before anything reaches render, what
// render writes for gzip, X-Request-ID and X-Original-URI, and the route-level keys travelling through routes
// (annotation defaults an Ingress's own annotation overrides, allowed response headers, no-redirect paths,
// retry-non-idempotent) instead of the configuration text.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readGlobalSettings, SETTINGS } from '../../src/translate/settings/index.js';
import { INGRESS_NGINX_SETTINGS } from '../../src/translate/settings/ingress-nginx-keys.js';
import { compressionLines, INGRESS_NGINX_GZIP_TYPES } from '../../src/haproxy/render/compression.js';
import { requestIdLines } from '../../src/haproxy/render/request-headers.js';
import { sameConfigurationText, withGlobalSettings } from '../../src/haproxy/render/global-settings.js';
import { HTTPS_FRONTEND, HTTP_FRONTEND, renderConfig } from '../../src/haproxy/render/render.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { Translator, translate } from '../../src/translate/translate.js';
import type { GlobalSettings, RouteTarget, TranslateResult } from '../../src/model/types.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import { OPTIONS, model, sectionLines } from './render-model.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, reloadedWith } from './plan-fixtures.js';

const read = (data: Record<string, string>) => readGlobalSettings(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)), 'ConfigMap portico/settings');
const rules = (data: Record<string, string>): string[] => read(data).diagnostics.map((d) => `${d.field} ${d.rule}`);

/** The keys other helpers read in their own branches; every other ingress-nginx key has a registry entry here. */
const ELSEWHERE = /^(use-forwarded-headers|compute-full-forwarded-for|forwarded-for-header|proxy-real-ip-cidr|enable-real-ip|use-proxy-protocol|proxy-protocol-header-timeout|forwarded-for-proxy-protocol-header|block-cidrs|block-user-agents|block-referers|whitelist-source-range|denylist-source-range|global-auth-.*|no-auth-locations|add-headers|proxy-set-headers|hide-headers|use-http2|enable-underscores-in-headers|ignore-invalid-headers|large-client-header-buffers|client-header-buffer-size|http2-max-.*|keep-alive-requests|load-balance|upstream-keepalive-.*|ssl-session-.*|ssl-ecdh-curve|ssl-prefer-server-ciphers|ssl-dh-param|max-worker-connections|ssl-early-data)$/;

const HOSTILE = ['a\nb', 'x"y', 'x # y', '{ }', 'a'.repeat(1024 * 1024), 'text/css\n  http-request return status 200', '$HOME'];

describe('the registry', () => {
  test('every ingress-nginx key has an entry, except those read elsewhere', () => {
    const known = new Set(SETTINGS.map((s) => s.key));
    const missing = [...INGRESS_NGINX_SETTINGS].filter((k) => !known.has(k) && !ELSEWHERE.test(k));
    assert.deepEqual(missing, []);
  });

  test('one entry per key', () => {
    const keys = SETTINGS.map((s) => s.key);
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), []);
  });

  test('every row says why nothing is done, or what is lost, when it says so at all', () => {
    for (const s of SETTINGS) {
      if (s.doc.noEffect !== undefined) assert.ok(s.doc.noEffect.length > 20, s.key);
      if (s.doc.status !== undefined) assert.ok((s.doc.differences ?? '').length > 20, s.key);
      assert.ok(s.doc.what.length > 5, s.key);
    }
  });

  test('every key it reads is one of ingress-nginx', () => {
    assert.deepEqual(SETTINGS.map((s) => s.key).filter((k) => !INGRESS_NGINX_SETTINGS.has(k)), []);
  });
});

describe('hostile values are refused with G1 and never reach the settings', () => {
  const implemented = ['use-gzip', 'gzip-types', 'worker-processes', 'disable-ipv6', 'generate-request-id', 'proxy-add-original-uri-header', 'proxy-next-upstream', 'proxy-redirect-from', 'proxy-cookie-path', 'global-allowed-response-headers', 'no-tls-redirect-locations', 'retry-non-idempotent', 'service-upstream'];
  for (const key of implemented) {
    test(key, () => {
      for (const value of HOSTILE) {
        const r = read({ [key]: value });
        assert.deepEqual(r.settings, {}, `${key}: ${JSON.stringify(value.slice(0, 40))}`);
        assert.deepEqual(r.diagnostics.map((d) => d.rule), ['G1']);
        assert.equal(r.reports[0]!.status, 'invalid');
      }
    });
  }

  test('keys read only to be reported refuse hostile values too (a snippet takes lines, never a megabyte)', () => {
    for (const key of ['log-format-upstream', 'access-log-path', 'otel-service-name', 'jaeger-collector-host', 'worker-cpu-affinity', 'gzip-disable']) {
      for (const value of ['a\nb', 'a'.repeat(1024 * 1024)]) assert.deepEqual(rules({ [key]: value }), [`data[${key}] G1`], key);
    }
    assert.deepEqual(rules({ 'http-snippet': 'a'.repeat(1024 * 1024) }), ['data[http-snippet] G1']);
  });
});

describe('compression', () => {
  test('use-gzip and gzip-types: lowercase, sorted, text/html always; * is every type', () => {
    assert.deepEqual(read({ 'use-gzip': 'true', 'gzip-types': 'text/CSS  application/json' }).settings, { gzip: true, gzipTypes: ['application/json', 'text/css', 'text/html'] });
    assert.deepEqual(read({ 'gzip-types': '*' }).settings, { gzipTypes: 'any' });
    assert.deepEqual(rules({ 'gzip-types': '* text/css' }), ['data[gzip-types] G1']);
    assert.deepEqual(rules({ 'gzip-types': 'text' }), ['data[gzip-types] G1']);
    assert.deepEqual(rules({ 'gzip-types': 'text/css;charset=utf-8' }), ['data[gzip-types] G1']);
    assert.deepEqual(rules({ 'gzip-types': Array.from({ length: 65 }, (_, i) => `text/x${i}`).join(' ') }), ['data[gzip-types] G1']);
    assert.deepEqual(read({ 'use-gzip': 'false' }).settings, { gzip: false });
  });

  test('what HAProxy cannot do is reported with G4: a level above 1, a minimum length, user agents, brotli', () => {
    assert.deepEqual(rules({ 'gzip-level': '1', 'gzip-min-length': '0', 'gzip-disable': 'msie6', 'enable-brotli': 'false' }), []);
    assert.deepEqual(rules({ 'gzip-level': '6', 'gzip-min-length': '256', 'gzip-disable': 'Firefox', 'enable-brotli': 'true' }), ['data[enable-brotli] G4', 'data[gzip-disable] G4', 'data[gzip-level] G4', 'data[gzip-min-length] G4']);
    assert.deepEqual(rules({ 'gzip-level': '10' }), ['data[gzip-level] G1']);
    const r = read({ 'enable-brotli': 'true' });
    assert.equal(r.reports[0]!.status, 'unsupported', 'brotli is lost: portico check exits 1');
    assert.match(r.reports[0]!.note, /no brotli encoder/);
    assert.equal(read({ 'gzip-level': '6' }).reports[0]!.status, 'partial', 'compression works, at another level');
    assert.equal(read({ 'brotli-level': '5' }).reports[0]!.status, 'ignored');
  });

  test('render: nothing while off; both frontends compress the listed types (ingress-nginx\'s list by default)', () => {
    assert.deepEqual(compressionLines(undefined), []);
    assert.deepEqual(compressionLines({ gzip: false, gzipTypes: ['text/css'] }), []);
    assert.deepEqual(compressionLines({ gzip: true }).slice(1), ['compression algo gzip', `compression type ${INGRESS_NGINX_GZIP_TYPES.join(' ')}`]);
    assert.deepEqual(compressionLines({ gzip: true, gzipTypes: 'any' }).slice(1), ['compression algo gzip']);
    const config = renderConfig(model({ global: { gzip: true, gzipTypes: ['text/css', 'text/html'] } }), OPTIONS);
    for (const fe of [HTTP_FRONTEND, HTTPS_FRONTEND]) assert.ok(sectionLines(config, `frontend ${fe}`).includes('compression type text/css text/html'), fe);
    assert.doesNotMatch(renderConfig(model(), OPTIONS), /compression/);
  });

  test('render refuses a type the grammar would not have let through', () => {
    for (const t of ['text/css #', 'text/css\n  http-request deny', '$X/y', '']) assert.throws(() => compressionLines({ gzip: true, gzipTypes: [t] }), /refusing/, JSON.stringify(t));
    assert.throws(() => compressionLines({ gzip: true, gzipTypes: [] }), /refusing/);
  });
});

describe('listeners and request headers', () => {
  test('worker-processes sets threads (auto keeps the flag); disable-ipv6 drops the IPv6 binds', () => {
    assert.deepEqual(read({ 'worker-processes': '4' }).settings, { threads: 4 });
    assert.deepEqual(read({ 'worker-processes': 'auto' }).settings, {});
    assert.deepEqual(rules({ 'worker-processes': '65' }), ['data[worker-processes] G1']);
    assert.deepEqual(rules({ 'worker-processes': '0' }), ['data[worker-processes] G1']);
    const o = withGlobalSettings({ ...OPTIONS, ipv6: true, threads: 2 }, { threads: 4, disableIpv6: true });
    assert.equal(o.threads, 4);
    assert.equal(o.ipv6, false);
    assert.equal(withGlobalSettings({ ...OPTIONS, ipv6: false }, { disableIpv6: false }).ipv6, false, '`false` cannot turn IPv6 on where --ipv6 found none');
    const config = renderConfig(model({ global: { threads: 4, disableIpv6: true } }), { ...OPTIONS, ipv6: true });
    assert.match(config, /\n {2}nbthread 4\n/);
    assert.doesNotMatch(config, /bind \[::\]/);
    assert.match(renderConfig(model(), { ...OPTIONS, ipv6: true }), /bind \[::\]:8080 v6only/);
  });

  test('bind addresses are reported (G4), not applied; bad addresses are G1', () => {
    assert.deepEqual(rules({ 'bind-address-ipv4': '10.0.0.1, 10.0.0.2', 'bind-address-ipv6': '' }), ['data[bind-address-ipv4] G4']);
    assert.deepEqual(rules({ 'bind-address-ipv6': '10.0.0.1' }), ['data[bind-address-ipv6] G1']);
    assert.deepEqual(rules({ 'bind-address': '10.0.0.1, fd00::1' }), ['data[bind-address] G4'], 'either family');
    assert.deepEqual(rules({ 'bind-address': '10.0.0.1, example.com' }), ['data[bind-address] G1']);
    assert.deepEqual(read({ 'bind-address-ipv4': '10.0.0.1' }).settings, {});
  });

  test('generate-request-id: false leaves the X-Request-ID line out; proxy-add-original-uri-header adds X-Original-URI', () => {
    assert.deepEqual(read({ 'generate-request-id': 'false', 'proxy-add-original-uri-header': 'true' }).settings, { generateRequestId: false, addOriginalUri: true });
    assert.ok(requestIdLines(undefined).some((l) => l.startsWith('http-request set-header X-Request-ID')));
    assert.ok(!requestIdLines({ generateRequestId: false }).some((l) => l.includes('set-header X-Request-ID')));
    assert.ok(requestIdLines({ addOriginalUri: true }).includes('http-request set-header X-Original-URI %[capture.req.uri]'));
    assert.ok(!requestIdLines(undefined).some((l) => l.includes('X-Original-URI')));
  });

  test('the access log keys Portico honours go to GlobalSettings.accessLog, with no finding', () => {
    const r = read({ 'disable-access-log': 'true', 'skip-access-log-urls': '/healthz, /metrics?x=1,,', 'enable-access-log-for-default-backend': 'true' });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.settings, { accessLog: { disabled: true, skipUrls: ['/healthz', '/metrics?x=1'], defaultBackend: true } });
    assert.deepEqual(read({ 'disable-http-access-log': 'true' }).settings, { accessLog: { disabled: true } });
    assert.deepEqual(read({ 'disable-access-log': 'false', 'skip-access-log-urls': '' }).settings, {});
  });

  test('keys with nothing to do are ignored, with their reason; a value asking for what HAProxy lacks is G4 and unsupported', () => {
    for (const [key, value] of [['reuse-port', 'false'], ['enable-serial-reloads', 'true'], ['error-log-level', 'debug'], ['default-type', 'application/octet-stream'], ['strict-validate-path-type', 'false'], ['map-hash-bucket-size', '128'], ['disable-stream-access-log', 'true'], ['annotation-value-word-blocklist', 'load_module,lua_package'], ['nginx-status-ipv4-whitelist', '10.0.0.0/8'], ['app-root', '/app'], ['upstream-hash-by', '$request_uri'], ['proxy-buffering', 'on'], ['disable-proxy-intercept-errors', 'true']] as const) {
      const r = read({ [key]: value });
      assert.deepEqual(r.diagnostics, [], key);
      assert.equal(r.reports[0]!.status, 'ignored', key);
      assert.notEqual(r.reports[0]!.note, '', key);
    }
    assert.deepEqual(rules({ 'error-log-level': 'loud' }), ['data[error-log-level] G1']);
    for (const [key, value, note] of [
      ['enable-modsecurity', 'true', /web application firewall/],
      ['enable-opentelemetry', 'true', /OpenTelemetry/],
      ['use-geoip2', 'true', /GeoIP/],
      ['enable-ocsp', 'true', /OCSP/],
      ['main-snippet', 'load_module x;\nworker_rlimit_core 1;', /never copies a snippet/],
      ['log-format-upstream', '$remote_addr "$request"', /fields of its own/],
      ['allow-cross-namespace-resources', 'true', /another namespace/],
      ['forwarded-host-header', 'X-Host', /X-Forwarded-Host/],
      ['custom-http-errors', '404,503', /no controller-wide default backend/],
      ['limit-rate', '100', /bandwidth|bwlim/],
    ] as const) {
      const r = read({ [key]: value });
      assert.deepEqual(r.diagnostics.map((d) => d.rule), ['G4'], key);
      assert.match(r.diagnostics[0]!.message, note, key);
      assert.equal(r.reports[0]!.status, 'unsupported', key);
    }
    assert.deepEqual(rules({ 'enable-modsecurity': 'false', 'main-snippet': '', 'custom-http-errors': '', 'forwarded-host-header': 'X-Forwarded-Host', 'limit-rate': '0' }), []);
  });
});

describe('route-level keys', () => {
  test('annotation defaults keep the value as written, after the annotation\'s own grammar', () => {
    assert.deepEqual(read({ 'proxy-next-upstream': 'error http_502', 'service-upstream': 'true', 'proxy-cookie-path': '/app/ /' }).settings, {
      annotationDefaults: { 'proxy-cookie-path': '/app/ /', 'proxy-next-upstream': 'error http_502', 'service-upstream': 'true' },
    });
    assert.deepEqual(rules({ 'proxy-next-upstream': 'http_429' }), ['data[proxy-next-upstream] G1']);
    assert.deepEqual(rules({ 'proxy-next-upstream-timeout': '10' }), ['data[proxy-next-upstream-timeout] G1']);
    assert.deepEqual(read({ 'global-allowed-response-headers': 'X-Frame-Options, x-served-by,X-Frame-Options' }).settings, { allowedResponseHeaders: ['x-frame-options', 'x-served-by'] });
    assert.deepEqual(read({ 'global-allowed-response-headers': '' }).settings, { allowedResponseHeaders: [] });
    assert.deepEqual(read({ 'no-tls-redirect-locations': '/.well-known/acme-challenge, /health' }).settings, { noTlsRedirectLocations: ['/.well-known/acme-challenge', '/health'] });
    assert.deepEqual(read({ 'retry-non-idempotent': 'true' }).settings, { retryNonIdempotent: true });
    assert.deepEqual(read({ 'retry-non-idempotent': 'false' }).settings, {});
  });

  test('a change to them is no change of the configuration text; a change to gzip is', () => {
    const base: GlobalSettings = { gzip: true };
    for (const extra of [{ annotationDefaults: { 'service-upstream': 'true' } }, { allowedResponseHeaders: ['x-a'] }, { noTlsRedirectLocations: ['/x'] }, { retryNonIdempotent: true }] as GlobalSettings[])
      assert.ok(sameConfigurationText(base, { ...base, ...extra }), JSON.stringify(extra));
    for (const extra of [{ gzip: false }, { gzipTypes: 'any' }, { threads: 3 }, { disableIpv6: true }, { generateRequestId: false }, { addOriginalUri: true }] as GlobalSettings[])
      assert.ok(!sameConfigurationText(base, { ...base, ...extra }), JSON.stringify(extra));
  });
});

const OPTS = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' };

function snapshot(settings: Record<string, string>, extra = ''): Snapshot {
  const data = Object.entries(settings)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const yaml = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings, namespace: portico }
${data === '' ? 'data: {}' : `data:\n${data}`}
---
apiVersion: v1
kind: ConfigMap
metadata: { name: headers, namespace: default }
data: { X-Frame-Options: DENY, X-Served-By: portico }
${site('plain', 'plain.example', {})}
${site('own', 'own.example', { 'nginx.ingress.kubernetes.io/proxy-next-upstream': 'off', 'nginx.ingress.kubernetes.io/custom-headers': 'headers' })}
${extra}`;
  const parsed = parseManifestText(yaml);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return snapshotFromFiles(new Map([['f', parsed.objects]])).snapshot;
}

function site(name: string, host: string, annotations: Record<string, string>, paths = ['/']): string {
  return `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  annotations: ${JSON.stringify(annotations)}
spec:
  tls: [{ hosts: [${host}], secretName: missing }]
  rules:
    - host: ${host}
      http:
        paths:
${paths.map((p) => `          - { path: ${p}, pathType: Prefix, backend: { service: { name: ${name}, port: { number: 80 } } } }`).join('\n')}`;
}

const routeOf = (r: TranslateResult, host: string, path = '/'): RouteTarget => {
  const g = r.model.hostGroups.find((h) => h.key === host)!;
  return [...g.exact, ...g.prefix].find((p) => p.path === path)!;
};
const backendOf = (r: TranslateResult, host: string, path = '/') => r.model.backends.find((b) => b.name === routeOf(r, host, path).backend)!;

describe('route-level keys reach the routes', () => {
  test('an annotation default applies to an Ingress without the annotation; its own annotation wins', () => {
    const r = translate(snapshot({ 'proxy-next-upstream': 'error http_502', 'proxy-next-upstream-tries': '2' }), OPTS);
    assert.deepEqual(backendOf(r, 'plain.example').policy?.retry?.retryOn, ['conn-failure', 'empty-response', '502']);
    assert.equal(backendOf(r, 'plain.example').policy?.retry?.retries, 1);
    assert.deepEqual(backendOf(r, 'own.example').policy?.retry?.retryOn, ['none'], "the Ingress's own `off`");
    assert.equal(backendOf(r, 'own.example').policy?.retry?.retries, 0);
    const none = translate(snapshot({}), OPTS);
    assert.equal(backendOf(none, 'plain.example').policy?.retry, undefined, 'without the key: Portico\'s plain section');
  });

  test('retry-non-idempotent adds non_idempotent to every route, to its own words or to the default', () => {
    const r = translate(snapshot({ 'retry-non-idempotent': 'true' }), OPTS);
    assert.equal(backendOf(r, 'plain.example').policy?.retry?.idempotentOnly, false);
    assert.deepEqual(backendOf(r, 'plain.example').policy?.retry?.retryOn, ['conn-failure', 'empty-response', 'response-timeout']);
    assert.equal(backendOf(r, 'own.example').policy?.retry?.idempotentOnly, false);
  });

  test('global-allowed-response-headers: a custom-headers name outside the list refuses the route (fail closed)', () => {
    const open = translate(snapshot({}), OPTS);
    assert.deepEqual(routeOf(open, 'own.example').policy.customHeaders, { 'x-frame-options': 'DENY', 'x-served-by': 'portico' });
    const listed = translate(snapshot({ 'global-allowed-response-headers': 'X-Frame-Options,X-Served-By' }), OPTS);
    assert.deepEqual(routeOf(listed, 'own.example').policy.customHeaders, { 'x-frame-options': 'DENY', 'x-served-by': 'portico' });
    const narrow = translate(snapshot({ 'global-allowed-response-headers': 'X-Frame-Options' }), OPTS);
    assert.equal(routeOf(narrow, 'own.example').policy.refuseAll, true);
    assert.equal(routeOf(narrow, 'own.example').policy.customHeaders, undefined);
    const finding = narrow.diagnostics.find((d) => d.object === 'Ingress default/own' && d.rule === 'custom-headers');
    assert.match(finding?.message ?? '', /x-served-by, which the settings ConfigMap's global-allowed-response-headers does not list/);
    assert.equal(routeOf(narrow, 'plain.example').policy.refuseAll, undefined, 'other Ingresses unaffected');
    assert.equal(routeOf(translate(snapshot({ 'global-allowed-response-headers': '' }), OPTS), 'own.example').policy.refuseAll, true, 'an empty list denies every name');
  });

  test('no-tls-redirect-locations: Ingress paths with a listed prefix are not redirected; the others are', () => {
    const extra = site('paths', 'paths.example', {}, ['/', '/health', '/healthz/deep', '/api']);
    const r = translate(snapshot({ 'no-tls-redirect-locations': '/health' }, extra), OPTS);
    assert.equal(routeOf(r, 'paths.example', '/health').policy.redirectToHttps, false);
    assert.equal(routeOf(r, 'paths.example', '/healthz/deep').policy.redirectToHttps, false, 'a prefix of the path as written, as nginx compares it');
    assert.equal(routeOf(r, 'paths.example', '/api').policy.redirectToHttps, true);
    assert.equal(routeOf(r, 'paths.example', '/').policy.redirectToHttps, true);
    assert.equal(routeOf(translate(snapshot({}, extra), OPTS), 'paths.example', '/health').policy.redirectToHttps, true);
  });

  test('incremental: editing the ConfigMap rebuilds the routes as a fresh translate would, and no more', () => {
    const t = new Translator(OPTS);
    const first = t.update(snapshot({ 'use-gzip': 'true' }));
    const second = t.update(snapshot({ 'use-gzip': 'true', 'service-upstream': 'true' }));
    assert.deepEqual(second, translate(snapshot({ 'use-gzip': 'true', 'service-upstream': 'true' }), OPTS));
    assert.notEqual(second.model.hostGroups, first.model.hostGroups);
    assert.equal(backendOf(second, 'plain.example').policy?.serviceUpstream, true);
    const third = t.update(snapshot({ 'use-gzip': 'false', 'service-upstream': 'true' }));
    assert.equal(third.model.hostGroups, second.model.hostGroups, 'a textual setting rebuilds no route');
    const fourth = t.update(snapshot({}));
    assert.deepEqual(fourth, translate(snapshot({}), OPTS));
  });
});

describe('plan: what a ConfigMap edit costs', () => {
  const modelWith = (s: Record<string, string>) => translate(snapshot(s), OPTS).model;

  test('a route-level key is map updates; a textual key and a new backend section are reloads', () => {
    const base = modelWith({ 'no-tls-redirect-locations': '/status' });
    const moved = plan(reloadedWith(base), modelWith({ 'no-tls-redirect-locations': '/' }), DEFAULT_PEM);
    assert.ok(!('reload' in moved), `unexpected reload: ${'reload' in moved ? moved.reload : ''}`);
    assert.ok(moved.ops.some((o) => o.op === 'map-set'), 'the routes change by map updates');
    const gzip = plan(reloadedWith(base), modelWith({ 'no-tls-redirect-locations': '/status', 'use-gzip': 'true' }), DEFAULT_PEM);
    assert.ok('reload' in gzip && /--configmap/.test(gzip.reload), 'use-gzip is configuration text');
    const retries = plan(reloadedWith(base), modelWith({ 'no-tls-redirect-locations': '/status', 'proxy-next-upstream': 'error http_503' }), DEFAULT_PEM);
    assert.ok('reload' in retries, 'a retry section no spare carries');
  });
});

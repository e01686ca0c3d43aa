// The settings ConfigMap's HTTP and TLS tuning keys (translate/settings/http.ts, tls-tuning.ts, header-configmaps.ts;
// render/global-http.ts): each key's grammar, hostile values refused with G1 and never reaching the configuration,
// what render writes for each (and its own refusal of what translate would never give it), the header ConfigMaps
// read and watched through the Translator, and load-balance travelling through the backends' policies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readGlobalSettings } from '../../src/translate/settings/index.js';
import { readHeaderConfigMaps, globalHeaderValueOf } from '../../src/translate/settings/header-configmaps.js';
import { Translator } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { Obj } from '../../src/k8s/objects.js';
import type { GlobalSettings } from '../../src/model/types.js';
import { render, renderConfig } from '../../src/haproxy/render/render.js';
import { globalHeaderFiles, globalRequestHeaderRules, globalResponseHeaderRules, globalTuningLines, httpsBindOptions } from '../../src/haproxy/render/global-http.js';
import { sameConfigurationText } from '../../src/haproxy/render/global-settings.js';
import { model, OPTIONS } from './render-model.js';

const OBJECT = 'ConfigMap portico/settings';
const read = (data: Record<string, string>) => readGlobalSettings(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)), OBJECT);
const rules = (r: ReturnType<typeof read>, rule: string) => r.diagnostics.filter((d) => d.rule === rule).map((d) => d.field);

describe('grammars', () => {
  test('valid values set their fields', () => {
    const r = read({
      'add-headers': 'ingress-nginx/custom-headers',
      'proxy-set-headers': ' ns/req ',
      'hide-headers': 'X-Powered-By, ,Server,x-powered-by',
      'use-http2': 'false',
      'enable-underscores-in-headers': 'true',
      'ignore-invalid-headers': 'true',
      'large-client-header-buffers': '4 16k',
      'http2-max-concurrent-streams': '128',
      'load-balance': 'ewma',
      'upstream-keepalive-connections': '0',
      'max-worker-connections': '2000',
      'ssl-session-cache': 'true',
      'ssl-session-cache-size': '10m',
      'ssl-session-timeout': '10m',
      'ssl-ecdh-curve': 'X25519:prime256v1',
      'ssl-prefer-server-ciphers': 'false',
    });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.settings, {
      addHeadersConfigMap: 'ingress-nginx/custom-headers',
      proxySetHeadersConfigMap: 'ns/req',
      hideHeaders: ['x-powered-by', 'server'],
      http2: false,
      underscoresInHeaders: true,
      ignoreInvalidHeaders: true,
      headerBytes: 65536,
      http2MaxConcurrentStreams: 128,
      loadBalance: 'ewma',
      upstreamKeepalive: false,
      maxConnections: 2000,
      sslSessionCache: true,
      sslSessionCacheSessions: 40960,
      sslSessionTimeout: 600,
      sslCurves: 'X25519:prime256v1',
      sslPreferServerCiphers: false,
    });
  });

  test('keys read and not honoured (or honoured in part) say so with G4; obsolete and no-effect keys are quiet', () => {
    const r = read({
      'ssl-session-tickets': 'true',
      'ssl-early-data': 'true',
      'ssl-dh-param': 'ingress-nginx/dhparam',
      'keep-alive-requests': '1000',
      'http2-max-requests': '10',
      'large-client-header-buffers': '4 2k',
      'ignore-invalid-headers': 'false',
      'http2-max-field-size': '4k',
      'http2-max-header-size': '16k',
      'client-header-buffer-size': '1k',
      'upstream-keepalive-timeout': '60',
      'upstream-keepalive-time': '1h',
      'upstream-keepalive-requests': '10000',
      'ssl-ecdh-curve': 'auto',
      'max-worker-connections': '0',
    });
    assert.deepEqual(rules(r, 'G4').sort(), ['data[http2-max-requests]', 'data[ignore-invalid-headers]', 'data[keep-alive-requests]', 'data[large-client-header-buffers]', 'data[ssl-dh-param]', 'data[ssl-early-data]', 'data[ssl-session-tickets]']);
    assert.deepEqual(rules(r, 'G1'), []);
    assert.deepEqual(r.settings, { headerBytes: 8192, ignoreInvalidHeaders: false }, 'auto curves and 0 connections keep the defaults');
    const status = new Map(r.reports.map((x) => [x.key, x.status]));
    assert.equal(status.get('ssl-session-tickets'), 'partial');
    assert.equal(status.get('http2-max-field-size'), 'ignored');
    assert.equal(read({ 'large-client-header-buffers': '4 8k' }).diagnostics.length, 0, "ingress-nginx's default: enforced as a whole, said in the docs, not warned of");
    assert.equal(read({ 'ssl-session-tickets': 'false' }).reports[0]!.status, 'partial', 'false is what Portico does, with its documented difference');
  });

  test('hostile values are refused with G1, one by one, and set nothing', () => {
    const MB = 'a'.repeat(1024 * 1024);
    const hostile = ['x\n  http-request return status 200', '" } lua-load /x #', '{ }', '# comment', MB, 'true\n', ' ', ''];
    const keys = ['add-headers', 'proxy-set-headers', 'hide-headers', 'use-http2', 'enable-underscores-in-headers', 'ignore-invalid-headers', 'large-client-header-buffers', 'client-header-buffer-size', 'http2-max-concurrent-streams', 'load-balance', 'upstream-keepalive-connections', 'max-worker-connections', 'ssl-session-cache', 'ssl-session-cache-size', 'ssl-session-timeout', 'ssl-ecdh-curve', 'ssl-prefer-server-ciphers', 'ssl-dh-param', 'ssl-early-data', 'ssl-session-tickets', 'keep-alive-requests', 'upstream-keepalive-time'];
    for (const key of keys)
      for (const value of hostile) {
        const r = read({ [key]: value });
        assert.deepEqual(rules(r, 'G1'), [`data[${key}]`], `${key}: ${JSON.stringify(value.slice(0, 40))}`);
        assert.deepEqual(r.settings, {}, key);
      }
  });

  test('values at and past their bounds', () => {
    const g1 = (key: string, value: string) => rules(read({ [key]: value }), 'G1').length === 1;
    assert.ok(g1('add-headers', 'bare-name'), 'a bare name finds nothing in ingress-nginx either');
    assert.ok(g1('add-headers', 'a/b/c'));
    assert.ok(g1('hide-headers', 'Content-Length'), 'a framing header');
    assert.ok(g1('hide-headers', 'x.dotted'));
    assert.ok(g1('hide-headers', Array.from({ length: 33 }, (_, i) => `x-${i}`).join(',')));
    assert.ok(!g1('hide-headers', Array.from({ length: 32 }, (_, i) => `x-${i}`).join(',')));
    assert.ok(g1('large-client-header-buffers', '64 8k'), '512 KiB: past 256 KiB');
    assert.ok(!g1('large-client-header-buffers', '32 8k'));
    assert.ok(g1('large-client-header-buffers', '0 8k'));
    assert.ok(g1('large-client-header-buffers', '4'));
    assert.ok(g1('ssl-ecdh-curve', 'X25519:nosuchcurve'), 'OpenSSL does not know it');
    assert.ok(g1('ssl-ecdh-curve', 'X25519 prime256v1'));
    assert.ok(g1('ssl-session-timeout', '8d'));
    assert.ok(!g1('ssl-session-timeout', '7d'));
    assert.ok(g1('ssl-session-cache-size', '257m'));
    assert.ok(g1('max-worker-connections', '9001'));
    assert.ok(g1('load-balance', 'chash'));
    assert.ok(g1('http2-max-concurrent-streams', '0'));
  });
});

describe('the header ConfigMaps', () => {
  const cm = (name: string, data: Record<string, string>, ns = 'portico'): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });

  test('entries are read through the snippet grammars; bad ones are left out with a finding on their ConfigMap', () => {
    const settings: GlobalSettings = { addHeadersConfigMap: 'portico/resp', proxySetHeadersConfigMap: 'portico/missing' };
    const objects = new Map([['portico/resp', cm('resp', { 'X-A': 'a $host b', 'X-Empty': '', 'Transfer-Encoding': 'x', 'X-Nl': 'a\nb', 'X-Late': '$status', 'X-Ffx': '$proxy_add_x_forwarded_for', 'X-Huge': 'a'.repeat(1025) })]]);
    const d = readHeaderConfigMaps(settings, (k) => objects.get(k), OBJECT);
    assert.deepEqual(settings.addHeaders, { 'x-a': 'a ${host} b', 'x-empty': '' });
    assert.equal(settings.proxySetHeaders, undefined);
    assert.deepEqual(d.map((x) => `${x.object} ${x.field} ${x.rule}`).sort(), [
      'ConfigMap portico/resp data[Transfer-Encoding] add-headers',
      'ConfigMap portico/resp data[X-Ffx] add-headers',
      'ConfigMap portico/resp data[X-Huge] add-headers',
      'ConfigMap portico/resp data[X-Late] add-headers',
      'ConfigMap portico/resp data[X-Nl] add-headers',
      'ConfigMap portico/settings data[proxy-set-headers] proxy-set-headers',
    ]);
    assert.match(d.find((x) => x.field === 'data[X-Ffx]')!.message, /\$proxy_add_x_forwarded_for is not one Portico expands in a controller-wide header/);
    assert.doesNotMatch(d.find((x) => x.field === 'data[X-Late]')!.message, /proxy_add_x_forwarded_for/, 'the list named is the one render writes');
  });

  test('values: variables kept as templates, open families held to names', () => {
    assert.deepEqual(globalHeaderValueOf('$http_x_tenant@${cookie_a}'), { ok: true, value: '${http_x_tenant}@${cookie_a}' });
    assert.equal(globalHeaderValueOf('$').ok, false);
    assert.equal(globalHeaderValueOf('${host').ok, false);
    assert.equal(globalHeaderValueOf('$msec').ok, false);
  });

  const OPTS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' };
  const snap = (configMaps: Obj[]): Snapshot => ({ ...emptySnapshot(), configMaps });

  test("the Translator watches the ConfigMaps the settings name: a change to one (or its appearance) changes model.global", () => {
    const t = new Translator(OPTS);
    const settings = cm('settings', { 'add-headers': 'portico/resp' });
    const first = t.update(snap([settings]));
    assert.equal(first.model.global?.addHeaders, undefined);
    assert.ok(first.diagnostics.some((d) => d.rule === 'add-headers' && d.field === 'data[add-headers]'), 'missing: said so');
    const appeared = t.update(snap([settings, cm('resp', { 'X-A': '1' })]));
    assert.deepEqual(appeared.model.global?.addHeaders, { 'x-a': '1' });
    assert.ok(!appeared.diagnostics.some((d) => d.rule === 'add-headers'));
    const unrelated = t.update(snap([settings, cm('resp', { 'X-A': '1' }), cm('other', { 'X-B': '2' })]));
    assert.equal(unrelated.model.global, appeared.model.global, 'a ConfigMap nobody names: the same settings');
    const changed = t.update(snap([settings, cm('resp', { 'X-A': '2' }), cm('other', { 'X-B': '2' })]));
    assert.deepEqual(changed.model.global?.addHeaders, { 'x-a': '2' });
    assert.equal(sameConfigurationText(appeared.model.global, changed.model.global), false, 'a reload');
  });

  test('load-balance: the default of every Ingress without the annotation, through routes; no text change of its own', () => {
    const t = new Translator(OPTS);
    const ing = (name: string, annotations: Record<string, string>): Obj => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'default', annotations },
      spec: { rules: [{ host: `${name}.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port: { number: 80 } } } }] } }] },
    });
    const base = (settings: Record<string, string>): Snapshot => ({ ...emptySnapshot(), configMaps: [cm('settings', settings)], ingresses: [ing('a', {}), ing('b', { 'nginx.ingress.kubernetes.io/load-balance': 'round_robin' })] });
    const plain = t.update(base({}));
    assert.ok(plain.model.backends.every((b) => b.policy?.balance === undefined));
    const ewma = t.update(base({ 'load-balance': 'ewma' }));
    assert.equal(ewma.model.backends.find((b) => b.ref.service === 'a')?.policy?.balance?.algorithm, 'leastconn');
    assert.equal(ewma.model.backends.find((b) => b.ref.service === 'b')?.policy?.balance, undefined, "the annotation's round_robin wins");
    assert.ok(sameConfigurationText({ loadBalance: 'ewma' }, undefined));
  });
});

describe('render', () => {
  const g: GlobalSettings = {
    addHeaders: { 'x-a': 'lit ${host} ${scheme}', 'x-gone': '' },
    proxySetHeaders: { 'x-q': '${remote_addr}:${server_port} ${http_x_t}' },
    hideHeaders: ['x-powered-by'],
    http2: false,
    headerBytes: 32 * 1024,
    http2MaxConcurrentStreams: 50,
    sslSessionCacheSessions: 4096,
    sslSessionTimeout: 600,
    sslCurves: 'X25519',
    sslPreferServerCiphers: false,
    upstreamKeepalive: false,
    maxConnections: 2000,
    underscoresInHeaders: true,
  };

  test('what each key writes', () => {
    assert.deepEqual(globalTuningLines(g), ['tune.bufsize 33792', 'tune.h2.max-concurrent-streams 50', 'tune.ssl.cachesize 4096', 'tune.ssl.lifetime 600', 'ssl-default-bind-curves X25519']);
    assert.deepEqual(globalTuningLines({ headerBytes: 15 * 1024, sslSessionCache: false, sslSessionCacheSessions: 9 }), ['tune.ssl.cachesize 0'], 'a small limit needs no line; no cache wins over its size');
    assert.equal(httpsBindOptions(g), ' alpn http/1.1 prefer-client-ciphers');
    assert.equal(httpsBindOptions(undefined), ' alpn h2,http/1.1');
    const file = '/d/maps/global-headers.map';
    assert.deepEqual(globalRequestHeaderRules(g, file, { tls: true, port: 8443 }).slice(1), [
      `http-request set-header x-q "%[var(sess.client)]%[str(q.x-q.1),map_str(${file}),url_dec]%[int(8443)]%[str(q.x-q.3),map_str(${file}),url_dec]%[req.fhdr(x-t)]"`,
    ]);
    assert.deepEqual(globalResponseHeaderRules(g, file, { tls: false, port: 8080 }).filter((l) => !l.startsWith('#')), [
      'http-response del-header x-powered-by',
      `http-after-response set-header x-a "%[str(a.x-a.0),map_str(${file}),url_dec]%[var(txn.gh_host)]%[str(a.x-a.2),map_str(${file}),url_dec]%[str(http)]"`,
      'http-after-response del-header x-gone',
    ]);
    assert.equal(globalHeaderFiles(g).get('maps/global-headers.map'), 'a.x-a.0 lit%20\na.x-a.2 %20\nq.x-q.1 :\nq.x-q.3 %20\n');
    const text = renderConfig(model({ global: g }), OPTIONS);
    assert.match(text, /^ {2}maxconn 2000$/m);
    assert.match(text, /^ {2}http-reuse never$/m);
    assert.match(text, /^ {2}http-request set-var\(txn\.gh_host\) req\.fhdr\(host\),lower,field\(1,:\)$/m);
    assert.doesNotMatch(text, /\[\^_\]\*_/, 'underscores kept: no rule removes them');
    assert.ok(render(model({ global: g }), OPTIONS, 'PEM\n').files.has('maps/global-headers.map'));
  });

  test('unset, nothing is written: the configuration is the flags\' alone', () => {
    assert.equal(renderConfig(model({ global: { hsts: true } }), OPTIONS), renderConfig(model({ global: { hsts: true, sslSessionCache: true, http2: true, upstreamKeepalive: true, sslPreferServerCiphers: true } }), OPTIONS));
    assert.deepEqual(globalHeaderFiles(undefined), new Map());
  });

  test('render refuses what translate never gives it', () => {
    const refuses = (over: GlobalSettings) => assert.throws(() => renderConfig(model({ global: over }), OPTIONS), /render: refusing/, JSON.stringify(over).slice(0, 80));
    refuses({ addHeaders: { 'x-a\n  lua-load /x': 'v' } });
    refuses({ addHeaders: { 'content-length': 'v' } });
    refuses({ proxySetHeaders: { 'x-a': '${msec}' } });
    refuses({ proxySetHeaders: { 'x-a': 'a $b' } });
    refuses({ proxySetHeaders: { 'x-a': '${http_a)b}' } });
    refuses({ hideHeaders: ['x y'] });
    refuses({ sslCurves: 'X25519 # x' });
    refuses({ headerBytes: 1024 ** 3 });
    refuses({ http2MaxConcurrentStreams: 0 });
    refuses({ sslSessionTimeout: Number.NaN });
    assert.throws(() => render(model({ global: { addHeaders: { 'x-a': 'a\nb' } } }), OPTIONS, 'PEM\n'), /render: refusing/);
  });
});

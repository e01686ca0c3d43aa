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
import { globalSettingsFiles, globalRequestHeaderRules, globalResponseHeaderRules, globalTuningLines, httpsBindOptions } from '../../src/haproxy/render/global-http.js';
import { sameConfigurationText } from '../../src/haproxy/render/global-settings.js';
import { model, OPTIONS } from './render-model.js';
import { parseDhParams, readDhParam } from '../../src/translate/settings/dh-param.js';
import { execFileSync } from 'node:child_process';

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
    assert.deepEqual(rules(r, 'G4').sort(), ['data[http2-max-requests]', 'data[ignore-invalid-headers]', 'data[keep-alive-requests]', 'data[large-client-header-buffers]', 'data[ssl-early-data]', 'data[ssl-session-tickets]']);
    assert.deepEqual(rules(r, 'G1'), []);
    assert.deepEqual(r.settings, { headerBytes: 8192, ignoreInvalidHeaders: false, sslDhParamSecret: 'ingress-nginx/dhparam' }, 'auto curves and 0 connections keep the defaults');
    const status = new Map(r.reports.map((x) => [x.key, x.status]));
    assert.equal(status.get('ssl-session-tickets'), 'partial');
    assert.equal(status.get('http2-max-field-size'), 'ignored');
    assert.equal(read({ 'large-client-header-buffers': '4 8k' }).diagnostics.length, 0, "ingress-nginx's default: enforced as a whole, said in the docs, not warned of");
    assert.equal(read({ 'ssl-session-tickets': 'false' }).reports[0]!.status, 'partial', 'false is what Portico does, with its documented difference');
  });

  test('hostile values are refused with G1, one by one, and set nothing', () => {
    const MB = 'a'.repeat(1024 * 1024);
    const hostile = ['x\n  http-request return status 200', '" } lua-load /x #', '{ }', '# comment', MB, 'true\n', ' ', ''];
    const keys = ['add-headers', 'proxy-set-headers', 'hide-headers', 'use-http2', 'enable-underscores-in-headers', 'ignore-invalid-headers', 'large-client-header-buffers', 'client-header-buffer-size', 'http2-max-concurrent-streams', 'load-balance', 'upstream-keepalive-connections', 'max-worker-connections', 'ssl-session-cache', 'ssl-session-cache-size', 'ssl-session-timeout', 'ssl-ecdh-curve', 'ssl-dh-param', 'ssl-early-data', 'ssl-session-tickets', 'keep-alive-requests', 'upstream-keepalive-time'];
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
    upstreamKeepalive: false,
    maxConnections: 2000,
    underscoresInHeaders: true,
  };

  test('what each key writes', () => {
    assert.deepEqual(globalTuningLines(g), ['tune.bufsize 33792', 'tune.h2.max-concurrent-streams 50', 'tune.ssl.cachesize 4096', 'tune.ssl.lifetime 600', 'ssl-default-bind-curves X25519']);
    assert.deepEqual(globalTuningLines({ headerBytes: 15 * 1024, sslSessionCache: false, sslSessionCacheSessions: 9 }), ['tune.ssl.cachesize 0'], 'a small limit needs no line; no cache wins over its size');
    assert.equal(httpsBindOptions(g), ' alpn http/1.1');
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
    assert.equal(globalSettingsFiles(g).get('maps/global-headers.map'), 'a.x-a.0 lit%20\na.x-a.2 %20\nq.x-q.1 :\nq.x-q.3 %20\n');
    const text = renderConfig(model({ global: g }), OPTIONS);
    assert.match(text, /^ {2}maxconn 2000$/m);
    assert.match(text, /^ {2}http-reuse never$/m);
    assert.match(text, /^ {2}http-request set-var\(txn\.gh_host\) req\.fhdr\(host\),lower,field\(1,:\)$/m);
    assert.doesNotMatch(text, /\[\^_\]\*_/, 'underscores kept: no rule removes them');
    assert.ok(render(model({ global: g }), OPTIONS, 'PEM\n').files.has('maps/global-headers.map'));
  });

  test('unset, nothing is written: the configuration is the flags\' alone', () => {
    assert.equal(renderConfig(model({ global: { hsts: true } }), OPTIONS), renderConfig(model({ global: { hsts: true, sslSessionCache: true, http2: true, upstreamKeepalive: true } }), OPTIONS));
    assert.deepEqual(globalSettingsFiles(undefined), new Map());
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

describe('ssl-dh-param', () => {
  const ffdhe = (bits: number): string => execFileSync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', `group:ffdhe${bits}`], { encoding: 'utf8' });
  const pemOf = (der: Buffer): string => `-----BEGIN DH PARAMETERS-----\n${der.toString('base64')}\n-----END DH PARAMETERS-----\n`;
  /** DER: a SEQUENCE of INTEGERs, each given as its bytes. */
  const der = (...ints: Buffer[]): Buffer => {
    const len = (n: number): Buffer => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
    const body = Buffer.concat(ints.map((i) => Buffer.concat([Buffer.from([0x02]), len(i.length), i])));
    return Buffer.concat([Buffer.from([0x30]), len(body.length), body]);
  };

  test('RFC 7919 groups pass, re-encoded as Portico writes PEM', () => {
    for (const bits of [2048, 3072, 8192]) {
      const r = parseDhParams(ffdhe(bits));
      assert.ok('pem' in r, String(bits));
      assert.equal(r.bits, bits);
      assert.match(r.pem, /^-----BEGIN DH PARAMETERS-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END DH PARAMETERS-----\n$/);
    }
  });

  test('anything else is refused: small or unsafe primes, garbage, other PEM, trailing text', () => {
    const good = ffdhe(2048);
    const refused = (text: string, why: RegExp) => {
      const r = parseDhParams(text);
      assert.ok('reason' in r, text.slice(0, 60));
      assert.match(r.reason, why);
    };
    refused(pemOf(der(Buffer.from([23]), Buffer.from([2]))), /5-bit prime/);
    const notPrime = Buffer.alloc(256, 0xff);
    refused(pemOf(der(Buffer.concat([Buffer.from([0]), notPrime]), Buffer.from([2]))), /refused by OpenSSL/);
    refused(pemOf(Buffer.from('garbage that is not DER at all')), /not DH parameters/);
    refused(good.replace(/DH PARAMETERS/g, 'CERTIFICATE'), /not one PEM block/);
    refused(`${good}\nlua-load /x\n`, /not one PEM block/);
    refused(good.replace('\n', '\n  http-request return status 200\n'), /not one PEM block|not DH parameters/);
    refused(`-----BEGIN DH PARAMETERS-----\n${'A'.repeat(20_000)}\n-----END DH PARAMETERS-----\n`, /not one PEM block/);
  });

  test('the Secret is read through the lookup; missing, without the key, or bad: the built-in group, with a finding', () => {
    const secret = (data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dh', namespace: 'portico' }, data });
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    const run = (o: Obj | undefined) => {
      const g: GlobalSettings = { sslDhParamSecret: 'portico/dh' };
      return { g, d: readDhParam(g, () => o, OBJECT) };
    };
    const ok = run(secret({ 'dhparam.pem': b64(ffdhe(3072)) }));
    assert.deepEqual(ok.d, []);
    assert.ok(ok.g.sslDhParam?.startsWith('-----BEGIN DH PARAMETERS-----\n'));
    for (const [o, field] of [[undefined, 'data[ssl-dh-param]'], [secret({}), 'data[dhparam.pem]'], [secret({ 'dhparam.pem': b64('x\n') }), 'data[dhparam.pem]']] as const) {
      const r = run(o);
      assert.equal(r.g.sslDhParam, undefined);
      assert.deepEqual(r.d.map((x) => [x.field, x.rule]), [[field, 'ssl-dh-param']]);
    }
  });

  test('render writes the file and ssl-dh-param-file; refuses anything but its own PEM', () => {
    const pem = (parseDhParams(ffdhe(2048)) as { pem: string }).pem;
    const a = render(model({ global: { sslDhParam: pem } }), OPTIONS, 'PEM\n');
    assert.equal(a.files.get('certs/dhparam.pem'), pem);
    assert.match(a.config, new RegExp(`^  ssl-dh-param-file ${OPTIONS.filesDir}/certs/dhparam.pem$`, 'm'));
    assert.throws(() => render(model({ global: { sslDhParam: `${pem}  lua-load /x\n` } }), OPTIONS, 'PEM\n'), /render: refusing DH parameters/);
  });

  test('the Translator watches the Secret: its appearance and a change read the settings again', () => {
    const t = new Translator({ controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' });
    const settings: Obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'portico' }, data: { 'ssl-dh-param': 'portico/dh' } };
    const secret = (bits: number): Obj => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dh', namespace: 'portico' }, stringData: { 'dhparam.pem': ffdhe(bits) } });
    const before = t.update({ ...emptySnapshot(), configMaps: [settings] });
    assert.equal(before.model.global?.sslDhParam, undefined);
    const s2048 = secret(2048);
    const appeared = t.update({ ...emptySnapshot(), configMaps: [settings], secrets: [s2048] });
    assert.equal((parseDhParams(appeared.model.global!.sslDhParam!) as { bits: number }).bits, 2048);
    const changed = t.update({ ...emptySnapshot(), configMaps: [settings], secrets: [secret(3072)] });
    assert.equal((parseDhParams(changed.model.global!.sslDhParam!) as { bits: number }).bits, 3072);
  });
});

// The settings ConfigMap: every key's report (supported, partial, ignored, unsupported, unknown, invalid) and
// finding (G1-G4), hostile values kept out of the model, the translator's incremental read (identity kept while the
// content is the same, every group rebuilt when a redirect default changes), and what the planner makes of a change.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readGlobalSettings, SETTINGS } from '../../src/translate/settings/index.js';
import { INGRESS_NGINX_SETTINGS } from '../../src/translate/settings/ingress-nginx-keys.js';
import { Translator } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { Obj } from '../../src/k8s/objects.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { renderConfig } from '../../src/haproxy/render/render.js';
import { sameConfigurationText, withGlobalSettings } from '../../src/haproxy/render/global-settings.js';
import { DEFAULT_PEM, reloadedWith } from './plan-fixtures.js';
import { OPTIONS as RENDER_OPTIONS } from './render-model.js';

const CM = 'ConfigMap portico/settings';
const read = (data: Record<string, string>): ReturnType<typeof readGlobalSettings> => readGlobalSettings(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)), CM);

describe('reading the keys', () => {
  test('each key is classified as portico check reports it, with its finding', () => {
    const r = read({
      'hsts-include-subdomains': 'false',
      'ssl-protocols': 'TLSv1 TLSv1.2',
      'allow-snippet-annotations': 'true',
      'proxy-connect-timeout': '0',
      'enable-modsecurity': 'true',
      'ssl-protocol': 'TLSv1.3',
      'server-tokens': 'false',
    });
    assert.deepEqual(
      r.reports.map((x) => `${x.key} ${x.status}`),
      ['allow-snippet-annotations ignored', 'enable-modsecurity unsupported', 'hsts-include-subdomains supported', 'proxy-connect-timeout invalid', 'server-tokens partial', 'ssl-protocol unknown', 'ssl-protocols partial'],
    );
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.rule} ${d.object} ${d.field}`),
      [`G4 ${CM} data[enable-modsecurity]`, `G1 ${CM} data[proxy-connect-timeout]`, `G3 ${CM} data[ssl-protocol]`, `G4 ${CM} data[ssl-protocols]`],
    );
    assert.match(r.diagnostics.find((d) => d.rule === 'G3')!.message, /did you mean "ssl-protocols"\?/);
    assert.match(r.diagnostics.find((d) => d.field === 'data[ssl-protocols]')!.message, /^TLSv1 is not offered/);
    assert.deepEqual(r.settings, { hstsIncludeSubdomains: false, tlsVersions: { min: 'TLSv1.2', max: 'TLSv1.2' }, serverTokens: false });
  });

  test('grammars as ingress-nginx reads them: Go booleans, whole seconds, nginx sizes and times, 4xx/5xx statuses', () => {
    assert.deepEqual(read({ hsts: 'True', 'proxy-body-size': '8m', 'worker-shutdown-timeout': '4m', 'limit-conn-status-code': '429', 'http-redirect-code': '302', 'ssl-protocols': 'TLSv1.3 TLSv1.2' }).settings, {
      hsts: true,
      maxBodyBytes: 8 << 20,
      workerShutdownTimeout: 240,
      limitConnStatus: 429,
      httpRedirectCode: 302,
      tlsVersions: { min: 'TLSv1.2', max: 'TLSv1.3' },
    });
    for (const [key, value] of [
      ['http-redirect-code', '303'],
      ['limit-req-status-code', '200'],
      ['limit-req-status-code', '600'],
      ['ssl-protocols', 'TLSv1.1'],
      ['ssl-protocols', 'TLSv1.4'],
      ['ssl-ciphers', 'NOT-A-CIPHER'],
      ['worker-shutdown-timeout', '0s'],
      ['keep-alive', '0'],
    ] as const)
      assert.deepEqual(read({ [key]: value }).reports.map((x) => x.status), ['invalid'], `${key}: ${value}`);
  });

  test('proxy-read-timeout and proxy-send-timeout: one server timeout, the larger', () => {
    assert.equal(read({ 'proxy-read-timeout': '30', 'proxy-send-timeout': '90' }).settings.serverTimeout, 90);
    assert.equal(read({ 'proxy-read-timeout': '120', 'proxy-send-timeout': '90' }).settings.serverTimeout, 120);
  });

  test('every key the registry reads is an ingress-nginx key (no Portico invention under its names)', () => {
    for (const s of SETTINGS) assert.ok(INGRESS_NGINX_SETTINGS.has(s.key), s.key);
  });

  test('hostile values: whatever is accepted renders, and a value with a control character never reaches the text', () => {
    const hostile = fc.oneof(
      fc.constantFrom('1\n  http-request deny', '"', "'", '#', '{', '}', 'x'.repeat(1 << 20), 'TLSv1.3\nTLSv1.2', '600; preload', '1 # c', '\u0000', 'on\r\n'),
      fc.string({ maxLength: 40 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...SETTINGS.map((s) => s.key)), hostile, (key, value) => {
        const r = read({ [key]: value });
        // Whatever was accepted must render: render re-checks every value it writes and throws on anything else. A
        // value with a control character is refused, or (the snippet keys, read only to be reported) never written.
        const text = renderConfig({ hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [], global: r.settings }, RENDER_OPTIONS);
        if ([...value].some((c) => c.charCodeAt(0) < 0x20) && r.reports[0]!.status !== 'invalid') assert.ok(!text.includes(value), `${key}: ${JSON.stringify(value).slice(0, 60)} reached the configuration`);
      }),
      { numRuns: 400 },
    );
  });
});

const OPTS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' };

const cm = (data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'portico', name: 'settings' }, data });
const ing = (name: string, host: string, tls: boolean): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { namespace: 'default', name, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {
    ingressClassName: 'portico',
    ...(tls ? { tls: [{ hosts: [host] }] } : {}),
    rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
  },
});
const snapshot = (settings: Obj | undefined, ingresses: Obj[]): Snapshot => ({ ...emptySnapshot(), ingresses, configMaps: settings ? [settings] : [] });

describe('the translator', () => {
  const ingresses = [ing('a', 'a.test', true), ing('b', 'b.test', false)];
  const redirects = (r: ReturnType<Translator['update']>): string[] => r.model.hostGroups.map((g) => `${g.key} ${g.prefix.map((p) => p.policy.redirectToHttps).join(',')}`);

  test('the same content in a new object keeps the settings object: the planner sees no change', () => {
    const t = new Translator(OPTS);
    const first = t.update(snapshot(cm({ 'hsts-max-age': '1' }), ingresses));
    const second = t.update(snapshot(cm({ 'hsts-max-age': '1' }), ingresses));
    assert.deepEqual(first.model.global, { hstsMaxAge: 1 });
    assert.equal(second.model.global, first.model.global);
    assert.equal(second.model.hostGroups, first.model.hostGroups, 'groups were rebuilt');
  });

  test('force-ssl-redirect and ssl-redirect change every route, as a fresh translation would', () => {
    const t = new Translator(OPTS);
    assert.deepEqual(redirects(t.update(snapshot(undefined, ingresses))), ['a.test true', 'b.test false']);
    const forced = t.update(snapshot(cm({ 'force-ssl-redirect': 'true' }), ingresses));
    assert.deepEqual(redirects(forced), ['a.test true', 'b.test true']);
    assert.deepEqual(forced, new Translator(OPTS).update(snapshot(cm({ 'force-ssl-redirect': 'true' }), ingresses)));
    assert.deepEqual(redirects(t.update(snapshot(cm({ 'ssl-redirect': 'false' }), ingresses))), ['a.test false', 'b.test false']);
  });

  test('a missing ConfigMap is reported (G5) and the flags apply; its arrival applies it', () => {
    const t = new Translator(OPTS);
    const none = t.update(snapshot(undefined, ingresses));
    assert.deepEqual(none.diagnostics.filter((d) => d.rule === 'G5').map((d) => d.object), [CM]);
    assert.equal(none.model.global, undefined);
    const some = t.update(snapshot(cm({ 'server-tokens': 'false' }), ingresses));
    assert.deepEqual(some.model.global, { serverTokens: false });
    assert.deepEqual(some.diagnostics.filter((d) => d.rule === 'G5'), []);
  });

  test('without --configmap no ConfigMap is read as settings', () => {
    const { configMap: _, ...opts } = OPTS;
    const r = new Translator(opts).update(snapshot(cm({ 'force-ssl-redirect': 'true' }), ingresses));
    assert.equal(r.model.global, undefined);
    assert.deepEqual(redirects(r), ['a.test true', 'b.test false']);
  });
});

describe('render and plan', () => {
  test('a key the ConfigMap sets wins over the flag; one it leaves unset keeps it', () => {
    const o = withGlobalSettings(RENDER_OPTIONS, { hsts: false, connectTimeout: 2, tlsVersions: { min: 'TLSv1.3', max: 'TLSv1.3' } });
    assert.equal(o.edge.hsts.enabled, false);
    assert.equal(o.edge.hsts.maxAge, RENDER_OPTIONS.edge.hsts.maxAge);
    assert.equal(o.timeouts.connect, 2);
    assert.equal(o.timeouts.server, RENDER_OPTIONS.timeouts.server);
    assert.deepEqual(o.edge.tls, { ...RENDER_OPTIONS.edge.tls, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    assert.equal(withGlobalSettings(RENDER_OPTIONS, undefined), RENDER_OPTIONS);
  });

  test('the planner reloads for a setting in the text, and not for a redirect default', () => {
    const t = new Translator(OPTS);
    const ingresses = [ing('a', 'a.test', true)];
    const base = t.update(snapshot(cm({ 'hsts-max-age': '1' }), ingresses)).model;
    const text = new Translator(OPTS).update(snapshot(cm({ 'hsts-max-age': '2' }), ingresses)).model;
    const p = plan(reloadedWith(base), text, DEFAULT_PEM);
    assert.ok('reload' in p && /--configmap/.test(p.reload));
    const routes = t.update(snapshot(cm({ 'hsts-max-age': '1', 'ssl-redirect': 'false' }), ingresses)).model;
    assert.ok(sameConfigurationText(base.global, routes.global));
    const q = plan(reloadedWith(base), routes, DEFAULT_PEM);
    assert.ok(!('reload' in q), 'reload' in q ? q.reload : '');
    assert.ok(q.ops.some((o) => o.op === 'map-set' && o.file.endsWith('paths.map')), JSON.stringify(q.ops));
  });
});

// The settings ConfigMap's access keys (src/translate/settings/access.ts, src/haproxy/render/global-access.ts): the
// grammars of the block lists, the access-list defaults and global authentication; refused values fail closed and never
// reach render; what routes get (an Ingress's own list and auth-url win, enable-global-auth, no-auth-locations); what
// render writes; and which edits are runtime updates and which take a reload.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { Translator } from '../../src/translate/translate.js';
import { readGlobalSettings } from '../../src/translate/settings/index.js';
import { accessDefaults, exactPattern } from '../../src/translate/settings/access.js';
import { renderConfig, renderMaps } from '../../src/haproxy/render/render.js';
import { sameConfigurationText } from '../../src/haproxy/render/global-settings.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import type { GlobalSettings, RoutePolicy, RoutingModel } from '../../src/model/types.js';
import { testRenderOptions } from '../render-options.js';
import { DEFAULT_PEM, reloadedWith } from './plan-fixtures.js';

const read = (data: Record<string, string>) => readGlobalSettings(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)), 'ConfigMap portico/settings');

const INGRESSES = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: app, namespace: d}
spec: {rules: [{host: app.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}, {path: /.well-known/acme-challenge, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}, {path: /public/x, pathType: Exact, backend: {service: {name: s, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: own, namespace: d, annotations: {nginx.ingress.kubernetes.io/auth-url: "http://own.test/auth", nginx.ingress.kubernetes.io/whitelist-source-range: "192.168.0.0/16"}}
spec: {rules: [{host: own.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}, {path: /.well-known/acme-challenge, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: optout, namespace: d, annotations: {nginx.ingress.kubernetes.io/enable-global-auth: "false", nginx.ingress.kubernetes.io/denylist-source-range: "10.9.0.0/16"}}
spec: {rules: [{host: optout.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: badflag, namespace: d, annotations: {nginx.ingress.kubernetes.io/enable-global-auth: "nope"}}
spec: {rules: [{host: badflag.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]}
`;

/** A Translator over the Ingresses above and a settings ConfigMap: `next(data)` translates again with new data. */
function translator() {
  const t = new Translator({ controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true, configMap: 'portico/settings' });
  const parsed = parseManifestText(INGRESSES);
  assert.ok(parsed.ok);
  return (data: Record<string, string>) => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'portico' }, data };
    return t.update(snapshotFromFiles(new Map([['f', [...parsed.objects, cm]]])).snapshot);
  };
}

function policyOf(m: RoutingModel, host: string, path: string): RoutePolicy {
  const g = m.hostGroups.find((x) => x.key === host)!;
  const r = [...g.prefix, ...g.exact].find((x) => x.path === path);
  assert.ok(r, `${host}${path}`);
  return r.policy;
}

describe('grammars', () => {
  test('block-cidrs: addresses and blocks, trimmed, empty items dropped; an empty value is no list', () => {
    assert.deepEqual(read({ 'block-cidrs': ' 10.0.0.0/8 ,, 192.0.2.7, 2001:db8::/32 ' }).settings.blockCidrs, ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32']);
    assert.deepEqual(read({ 'block-cidrs': ' , ' }).settings.blockCidrs, []);
  });

  test('block-user-agents: strings as escaped, anchored, caseless patterns; ~ and ~* regexes; quotes; duplicates once', () => {
    const s = read({ 'block-user-agents': 'curl/7.1, "Bad Bot 1.0", \'x y\', ~^Evil, ~*(wget|python), ~^Evil' }).settings;
    assert.deepEqual(s.blockUserAgents, [exactPattern('curl/7.1'), exactPattern('Bad Bot 1.0'), exactPattern('x y'), '(?:^Evil)', '(?i)(?:(wget|python))']);
    assert.equal(exactPattern('a.b/1 #'), '(?i)^a\\x2eb\\x2f1\\x20\\x23$');
  });

  test('a string matches only itself, whole, ignoring case (checked with the pattern as a JavaScript RegExp, which reads these escapes alike)', () => {
    const re = new RegExp(exactPattern('Bad.Bot/1.0 (x)').replace('(?i)', ''), 'i');
    assert.ok(re.test('bad.bot/1.0 (X)'));
    assert.ok(!re.test('BadXBot/1.0 (x)'), 'the dot is literal');
    assert.ok(!re.test('Bad.Bot/1.0 (x) and more'));
  });

  test('no-auth-locations: prefixes, trimmed; empty is none', () => {
    assert.deepEqual(read({ 'no-auth-locations': '/.well-known/acme-challenge, /public' }).settings.noAuthLocations, ['/.well-known/acme-challenge', '/public']);
    assert.deepEqual(read({ 'no-auth-locations': '' }).settings.noAuthLocations, []);
  });

  test('global-auth-*: the auth-* grammars; global-auth-snippet keeps proxy_set_header and reports the rest (G4)', () => {
    const r = read({
      'global-auth-url': 'https://$host/oauth2/auth',
      'global-auth-method': 'POST',
      'global-auth-signin': 'https://$host/oauth2/start',
      'global-auth-signin-redirect-param': 'next',
      'global-auth-response-headers': 'X-Auth-Request-User, x-auth-request-user',
      'global-auth-request-redirect': '/home',
      'global-auth-cache-key': '$http_authorization',
      'global-auth-cache-duration': '200 10m, 401 30s',
      'global-auth-always-set-cookie': 'true',
      'global-auth-snippet': 'proxy_set_header X-Tenant $host;\nmore_set_headers "X-A: b";',
    });
    assert.deepEqual(r.settings.globalAuth, {
      url: 'https://$host/oauth2/auth',
      method: 'POST',
      signin: 'https://$host/oauth2/start',
      signinRedirectParam: 'next',
      responseHeaders: ['x-auth-request-user'],
      requestRedirect: '/home',
      cacheKey: '$http_authorization',
      cacheDurations: [
        { statuses: [200], seconds: 600 },
        { statuses: [401], seconds: 30 },
      ],
      alwaysSetCookie: true,
      requestHeaders: [['x-tenant', '${host}']],
    });
    assert.deepEqual(r.diagnostics.map((d) => d.rule), ['G4']);
    const a = accessDefaults(r.settings).externalAuth;
    assert.ok(a && a !== 'refuse');
    assert.equal(a.signin, 'https://$host/oauth2/start?next=$scheme://$http_host$escaped_request_uri');
  });
});

describe('hostile values: refused with G1, never in the settings render reads', () => {
  const HOSTILE = ['10.0.0.0/8\n  http-request allow', '" if TRUE #', '{ }', 'x'.repeat(1 << 20), '#comment', 'a;b', 'default', 'include', '~(a+)+', '~(?=x)', '~a b', '~', '"unterminated', 'Mozilla}\nlua-load /tmp/x', 'caf\u00e9'];
  const listOf = (s: ReturnType<typeof read>['settings']): string[] | undefined => s.blockCidrs ?? s.blockUserAgents ?? s.blockReferers;
  for (const key of ['block-cidrs', 'block-user-agents', 'block-referers']) {
    test(`${key}: a hostile entry is left out (G1) and nothing of it reaches a map; the good entries beside it still block`, () => {
      const good = key === 'block-cidrs' ? '192.0.2.7' : 'curl/7.1';
      for (const v of HOSTILE) {
        if (key !== 'block-cidrs' && ['#comment'].includes(v)) continue;
        const r = read({ [key]: v });
        const d = r.diagnostics.find((x) => x.field === `data[${key}]`);
        assert.equal(d?.rule, 'G1', `${key}: ${JSON.stringify(v.slice(0, 40))}`);
        assert.equal(r.reports[0]!.status, 'invalid');
        assert.deepEqual(listOf(r.settings) ?? [], [], `${key}: ${JSON.stringify(v.slice(0, 40))}`);
        if (v.includes(',') || v.length > 1000) continue;
        const beside = read({ [key]: `${v},${good}` });
        assert.equal(listOf(beside.settings)?.length, 1, `${key}: ${JSON.stringify(v.slice(0, 40))} beside a good entry`);
        assert.match(beside.diagnostics.find((x) => x.rule === 'G1')!.message, /left out; the other entries apply/);
      }
    });
  }
  test('whitelist-source-range and denylist-source-range: refuse', () => {
    for (const v of ['10.0.0.0/33', '10.0.0.0/8\nhttp-request allow', 'x'.repeat(1 << 20), '"', '{}']) {
      assert.equal(read({ 'whitelist-source-range': v }).settings.allowSourceRange, 'refuse');
      assert.equal(read({ 'denylist-source-range': v }).settings.denySourceRange, 'refuse');
    }
  });
  test('global-auth-url: refused, and global authentication refuses the routes it covers', () => {
    for (const v of ['http://a.test/"', 'http://a.test/\n', 'http://a.test/#x', 'http://a.test/{ }', `http://a.test/${'x'.repeat(1 << 20)}`, 'ftp://a.test/', 'http://a.test/$msec']) {
      const r = read({ 'global-auth-url': v });
      assert.equal(r.diagnostics[0]?.rule, 'G1');
      assert.deepEqual(r.settings.globalAuth, { refused: ['global-auth-url'] });
      assert.equal(accessDefaults(r.settings).externalAuth, 'refuse');
    }
  });
  test("a refused companion refuses only with a URL; signin, the redirect parameter, the cache key and the snippet are left out instead", () => {
    assert.equal(accessDefaults(read({ 'global-auth-method': 'PATCH' }).settings).externalAuth, undefined, 'no URL, no global authentication');
    assert.equal(accessDefaults(read({ 'global-auth-url': 'http://a.test/', 'global-auth-method': 'PATCH' }).settings).externalAuth, 'refuse');
    assert.equal(accessDefaults(read({ 'global-auth-url': 'http://a.test/', 'global-auth-response-headers': 'Host' }).settings).externalAuth, 'refuse');
    const lenient = accessDefaults(read({ 'global-auth-url': 'http://a.test/', 'global-auth-signin': 'javascript:x', 'global-auth-signin-redirect-param': 'a b', 'global-auth-cache-key': '$msec', 'global-auth-snippet': 'lua_code x;' }).settings).externalAuth;
    assert.deepEqual(lenient, { url: 'http://a.test/', responseHeaders: [], alwaysSetCookie: false });
  });
});

describe('routes', () => {
  const next = translator();
  const m = next({
    'whitelist-source-range': '10.0.0.0/8',
    'global-auth-url': 'http://auth.test/check',
    'global-auth-response-headers': 'X-User',
  }).model;

  test('an Ingress without its own list or auth-url takes the global ones', () => {
    const p = policyOf(m, 'app.test', '/');
    assert.deepEqual(p.sourceRanges, { allow: ['10.0.0.0/8'], deny: [] });
    assert.deepEqual(p.externalAuth, { url: 'http://auth.test/check', responseHeaders: ['x-user'], alwaysSetCookie: false });
  });

  test("an Ingress's own allowlist and auth-url replace the global ones", () => {
    const p = policyOf(m, 'own.test', '/');
    assert.deepEqual(p.sourceRanges, { allow: ['192.168.0.0/16'], deny: [] });
    assert.equal(p.externalAuth?.url, 'http://own.test/auth');
  });

  test('enable-global-auth "false" exempts an Ingress from global authentication, not from the global allowlist; a bad value keeps it', () => {
    const p = policyOf(m, 'optout.test', '/');
    assert.equal(p.externalAuth, undefined);
    assert.deepEqual(p.sourceRanges, { allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] }, 'its own deny list beside the global allow list');
    assert.equal(policyOf(m, 'badflag.test', '/').externalAuth?.url, 'http://auth.test/check');
  });

  test("no-auth-locations (default /.well-known/acme-challenge): no external authentication there, global or the Ingress's own; the allowlist stays", () => {
    for (const host of ['app.test', 'own.test']) {
      const p = policyOf(m, host, '/.well-known/acme-challenge');
      assert.equal(p.externalAuth, undefined, host);
      assert.ok(p.sourceRanges, host);
    }
    const custom = next({ 'global-auth-url': 'http://auth.test/check', 'no-auth-locations': '/public' }).model;
    assert.equal(policyOf(custom, 'app.test', '/public/x').externalAuth, undefined);
    assert.equal(policyOf(custom, 'app.test', '/.well-known/acme-challenge').externalAuth?.url, 'http://auth.test/check', 'the default replaced');
  });

  test('refused values fail closed on the routes they would cover', () => {
    const bad = next({ 'whitelist-source-range': '10.0.0.0/33', 'global-auth-url': 'http://x/"' }).model;
    assert.equal(policyOf(bad, 'app.test', '/').refuseAll, true);
    assert.equal(policyOf(bad, 'optout.test', '/').refuseAll, true, 'no allowlist of its own');
    assert.equal(policyOf(bad, 'own.test', '/').refuseAll, undefined, 'its own list and auth-url');
    const onlyAuth = next({ 'global-auth-url': 'http://x/"' }).model;
    assert.equal(policyOf(onlyAuth, 'optout.test', '/').refuseAll, undefined, 'enable-global-auth "false"');
  });

  test('a changed global-auth-url rebuilds the routes; unchanged settings keep every group by identity', () => {
    const t = translator();
    const a = t({ 'global-auth-url': 'http://auth.test/a' }).model;
    const same = t({ 'global-auth-url': 'http://auth.test/a', 'hsts': 'false' }).model;
    assert.equal(same.hostGroups, a.hostGroups);
    const b = t({ 'global-auth-url': 'http://auth.test/b', 'hsts': 'false' }).model;
    assert.equal(policyOf(b, 'app.test', '/').externalAuth?.url, 'http://auth.test/b');
    assert.equal(b.hostGroups.find((g) => g.key === 'optout.test'), same.hostGroups.find((g) => g.key === 'optout.test'), 'a group whose routes did not change keeps its identity');
  });

  test('without a ConfigMap nothing changes for plain routes', () => {
    assert.deepEqual(policyOf(translator()({}).model, 'app.test', '/'), { redirectToHttps: false });
  });
});

describe('render and plan', () => {
  const base: GlobalSettings = { blockCidrs: ['10.0.0.0/8', '10.0.0.1/32'], blockUserAgents: [exactPattern('x y')], blockReferers: ['(?i)(?:casino)'] };
  const modelWith = (global?: GlobalSettings): RoutingModel => ({ hostGroups: [], backends: [], certificates: [], sni: [], ingresses: [], ...(global ? { global } : {}) });

  test('one map line per block (canonical) and pattern; a rule per list in use, before routing', () => {
    const files = renderMaps(modelWith(base));
    assert.equal(files.get('maps/block-cidrs.map'), '10.0.0.0/8 1\n10.0.0.1/32 1\n');
    assert.equal(files.get('maps/block-user-agents.map'), '(?i)^x\\x20y$ 1\n');
    const text = renderConfig(modelWith({ blockCidrs: ['10.0.0.0/8'] }), testRenderOptions());
    assert.match(text, /http-request deny deny_status 403 .* if \{ src,map_ip\(\S+\/maps\/block-cidrs\.map\) -m found \}/);
    assert.doesNotMatch(text, /fhdr\((user-agent|referer)/);
    assert.ok(text.indexOf('block-cidrs.map') < text.indexOf('map_beg'), 'before the route lookup');
  });

  test('without block lists the configuration is the one without settings', () => {
    const plain = renderConfig(modelWith(), testRenderOptions());
    assert.equal(renderConfig(modelWith({ blockCidrs: [], allowSourceRange: ['10.0.0.0/8'], globalAuth: { url: 'http://a.test/' }, noAuthLocations: [] }), testRenderOptions()), plain);
  });

  test('render refuses a pattern that could break its map line', () => {
    for (const p of ['a b', 'a#b', 'a\nb', '']) assert.throws(() => renderMaps(modelWith({ blockUserAgents: [p] })), /render: refusing block pattern/);
    assert.throws(() => renderMaps(modelWith({ blockCidrs: ['10.0.0.0/8\n'] })), /render: refusing address block/);
  });

  test('a changed list is map operations; a list that becomes empty or non-empty is a reload; access defaults never are', () => {
    const state = reloadedWith(modelWith(base));
    const changed = plan(state, modelWith({ ...base, blockCidrs: ['10.0.0.0/8', '192.0.2.0/24'], blockReferers: ['(?i)(?:poker)'] }), DEFAULT_PEM);
    assert.ok('ops' in changed);
    assert.deepEqual(
      changed.ops.map((o) => [o.op, 'key' in o ? o.key : '']),
      [
        ['map-add', '192.0.2.0/24'],
        ['map-add', '(?i)(?:poker)'],
        ['map-del', '(?i)(?:casino)'],
        ['map-del', '10.0.0.1/32'],
      ],
    );
    const emptied = plan(state, modelWith({ ...base, blockReferers: [] }), DEFAULT_PEM);
    assert.ok('reload' in emptied);
    assert.ok(!sameConfigurationText({}, { blockCidrs: ['10.0.0.0/8'] }));
    assert.ok(sameConfigurationText({ allowSourceRange: ['10.0.0.0/8'], globalAuth: { url: 'http://a.test/' } }, { allowSourceRange: 'refuse', globalAuth: { refused: ['global-auth-url'] }, noAuthLocations: [] }));
  });
});

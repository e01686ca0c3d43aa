// Canary Ingresses: the grammars of the canary-* annotations (hostile values included), rule canary-disabled, how a
// canary attaches to the main route in translate (no M3; canary-unmatched, canary-shadowed), its line in canary.map
// and render's own checks of it, the rules only while some route has a canary, and plan: a changed weight is a map
// update, the first canary a reload, a canary Service new at runtime bound to a spare and named by that spare.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canaryCookieName, canaryHeaderName, canaryHeaderPattern, canaryHeaderValue } from '../../src/translate/annotations/canary.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import type { ValueGrammar } from '../../src/translate/annotations/values.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { canaryValue } from '../../src/haproxy/render/policy/canary.js';
import { featuresInUse, renderConfig, renderMaps } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import type { CanaryPolicy, Diagnostic } from '../../src/model/types.js';
import { OPTIONS } from './render-model.js';
import { DEFAULT_PEM, ops, opSummary, reloadedWith, svc, translateYaml } from './plan-fixtures.js';

const parsed = <T>(g: ValueGrammar<T>, raw: string): T | undefined => {
  const p = g.parse(raw);
  return p.ok ? p.value : undefined;
};

const HOSTILE = ['', ' ', 'a\nb', 'a\rb', 'a\u0000b', 'a b', 'a#b', 'a"b', "a'b", 'a;b', 'a|b', 'a%b', 'x'.repeat(5000)];

void describe('canary grammars', () => {
  test('canary-by-header: letters, digits, - and _, lowercased with _ read as -', () => {
    assert.equal(parsed(canaryHeaderName, 'X_Canary'), 'x-canary');
    assert.equal(parsed(canaryHeaderName, ' X-Canary '), 'x-canary');
    for (const bad of [...HOSTILE, 'x.y', 'x~y', 'x/y', 'x:y']) assert.equal(parsed(canaryHeaderName, bad), undefined, JSON.stringify(bad));
  });

  test("canary-by-header-value: ingress-nginx's basic characters, case kept", () => {
    assert.equal(parsed(canaryHeaderValue, 'Blue-1.2/x:y~z_'), 'Blue-1.2/x:y~z_');
    for (const bad of HOSTILE) assert.equal(parsed(canaryHeaderValue, bad), undefined, JSON.stringify(bad));
  });

  test('canary-by-cookie: a cookie name of letters, digits and - . _ ~, lowercased', () => {
    assert.equal(parsed(canaryCookieName, 'Beta_Users.v2'), 'beta_users.v2');
    for (const bad of [...HOSTILE, 'a=b', 'a/b', 'a:b']) assert.equal(parsed(canaryCookieName, bad), undefined, JSON.stringify(bad));
  });

  test('canary-by-header-pattern: the regex grammar, searched anywhere, ^ allowed at the start of a branch', () => {
    for (const ok of ['^v2|beta$', 'v[0-9]{1,3}', '(^a|b)', 'gr(e|a)y', '^$', 'a\\.b']) assert.equal(parsed(canaryHeaderPattern, ok), ok, ok);
    for (const bad of [...HOSTILE.filter((h) => h !== 'a|b'), '(a+)+', 'a^b', '[', '(?=a)', '\\1', 'a$b', 'x{1001}', `${'a'.repeat(1025)}`]) assert.equal(parsed(canaryHeaderPattern, bad), undefined, JSON.stringify(bad));
  });
});

void describe('rule canary-disabled', () => {
  const rules = (a: Record<string, string>): string[] => {
    const f = new Findings('Ingress default/x');
    parseIngressAnnotations(a, f);
    return f.list.map((d) => `${d.rule} ${d.field}`);
  };
  const N = 'nginx.ingress.kubernetes.io/';

  test('canary-* without canary: "true" is reported (weight 0 and the total alone are not, as in ingress-nginx)', () => {
    assert.deepEqual(rules({ [`${N}canary-by-header`]: 'x' }), [`canary-disabled metadata.annotations[${N}canary-by-header]`]);
    assert.deepEqual(rules({ [`${N}canary`]: 'false', 'portico.dev/canary-weight': '5' }), ['canary-disabled metadata.annotations[portico.dev/canary-weight]']);
    assert.deepEqual(rules({ [`${N}canary-weight`]: '0', [`${N}canary-weight-total`]: '1000' }), []);
    assert.deepEqual(rules({ [`${N}canary`]: 'true', [`${N}canary-by-cookie`]: 'b' }), []);
  });
});

const ing = (name: string, created: string, annotations: Record<string, string>, paths: [string, string, string][], host = 'c.test'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
  namespace: default
  creationTimestamp: "${created}"
  annotations: {${Object.entries(annotations).map(([k, v]) => `nginx.ingress.kubernetes.io/${k}: "${v}"`).join(', ')}}
spec:
  rules:
  - host: ${host}
    http:
      paths: [${paths.map(([path, type, service]) => `{path: "${path}", pathType: ${type}, backend: {service: {name: ${service}, port: {number: 80}}}}`).join(', ')}]
---`;

const run = translateYaml;

const MAIN = ing('main', '2020-01-01T00:00:00Z', {}, [['/', 'Prefix', 'web'], ['/a', 'Exact', 'web']]);
const CANARY = (weight: string, service = 'web-v2'): string => ing('canary', '2019-01-01T00:00:00Z', { canary: 'true', 'canary-weight': weight }, [['/', 'Prefix', service]]);

void describe('a canary attaches to the main route', () => {
  test('an older canary does not win the route (no M3): it attaches to it, and its Service becomes a backend', () => {
    const { model, diagnostics } = run(`${svc('web', ['10.0.0.1'])}${svc('web-v2', ['10.0.0.2'])}${MAIN}${CANARY('30')}`);
    assert.deepEqual(diagnostics, []);
    const root = model.hostGroups[0]!.prefix[0]!;
    assert.equal(root.backend, 'be_default_web_80');
    assert.deepEqual(root.policy.canary, { backend: 'be_default_web-v2_80', ingress: 'default/canary', weight: 30, weightTotal: 100 } satisfies CanaryPolicy);
    assert.equal(model.hostGroups[0]!.exact[0]!.policy.canary, undefined, 'Exact /a has no canary path');
    assert.deepEqual(model.backends.map((b) => [b.name, b.servers.map((s) => s.address)]), [['be_default_web-v2_80', ['10.0.0.2']], ['be_default_web_80', ['10.0.0.1']]]);
  });

  test('a canary alone, a path type that differs, and a second canary are reported; they serve nothing', () => {
    const second = ing('canary2', '2021-01-01T00:00:00Z', { canary: 'true' }, [['/', 'Prefix', 'web-v3'], ['/a', 'Prefix', 'web-v3']]);
    const lonely = ing('lonely', '2021-01-01T00:00:00Z', { canary: 'true' }, [['/', 'Prefix', 'web-v3']], 'n.test');
    const { model, diagnostics } = run(`${MAIN}${CANARY('30')}${second}${lonely}`);
    assert.deepEqual(
      diagnostics.filter((d) => d.rule.startsWith('canary')).map((d) => `${d.object} ${d.field} ${d.rule}`),
      [
        'Ingress default/canary2 spec.rules[0].http.paths[0] canary-shadowed',
        'Ingress default/canary2 spec.rules[0].http.paths[1] canary-unmatched',
        'Ingress default/lonely spec.rules[0].http.paths[0] canary-unmatched',
      ],
    );
    assert.deepEqual(model.hostGroups.map((g) => g.key), ['c.test']);
    assert.ok(!model.backends.some((b) => b.name.includes('web-v3')), 'no backend for a canary that serves nothing');
  });

  // Two Ingresses route Prefix / (M3: the older one's route is kept); the canary's Service is one of theirs.
  const rule = (d: Diagnostic): string => `${d.object} ${d.field} ${d.rule}: ${d.message}`;
  const OLD = (service: string): string => ing('old', '2018-01-01T00:00:00Z', {}, [['/', 'Prefix', service]]);
  const NEW = (service: string): string => ing('new', '2020-01-01T00:00:00Z', {}, [['/', 'Prefix', service]]);
  const SERVICES = `${svc('web', ['10.0.0.1'])}${svc('web-v2', ['10.0.0.2'])}`;
  const LATE_CANARY = ing('canary', '2021-01-01T00:00:00Z', { canary: 'true', 'canary-weight': '30' }, [['/', 'Prefix', 'web-v2']]);

  test("only the M3 loser already sends to the canary's Service port: the canary splits the kept route, no canary-unmatched", () => {
    const { model, diagnostics } = run(`${SERVICES}${OLD('web')}${NEW('web-v2')}${LATE_CANARY}`);
    assert.deepEqual(
      diagnostics.map(rule),
      ['Ingress default/new spec.rules[0].http.paths[0] M3: Prefix / on host c.test is already routed by Ingress default/old, which wins (oldest first; same age: namespace/name order); this path is ignored'],
    );
    const root = model.hostGroups[0]!.prefix[0]!;
    assert.equal(root.backend, 'be_default_web_80');
    assert.deepEqual(root.policy.canary, { backend: 'be_default_web-v2_80', ingress: 'default/canary', weight: 30, weightTotal: 100 } satisfies CanaryPolicy);
  });

  test("the kept route already sends to the canary's Service port: canary-unmatched, whatever the M3 loser sends to", () => {
    const { model, diagnostics } = run(`${SERVICES}${OLD('web-v2')}${NEW('web')}${LATE_CANARY}`);
    assert.deepEqual(diagnostics.map(rule), [
      'Ingress default/canary spec.rules[0].http.paths[0] canary-unmatched: Prefix / on host c.test already sends to this Service port; the canary changes nothing there',
      'Ingress default/new spec.rules[0].http.paths[0] M3: Prefix / on host c.test is already routed by Ingress default/old, which wins (oldest first; same age: namespace/name order); this path is ignored',
    ]);
    const root = model.hostGroups[0]!.prefix[0]!;
    assert.equal(root.backend, 'be_default_web-v2_80');
    assert.equal(root.policy.canary, undefined);
  });

  test('an older canary attached only to the M3 loser shadows nothing: the newer one splits the kept route, no canary-shadowed', () => {
    const canary = (name: string, at: string, service: string): string => ing(name, at, { canary: 'true', 'canary-weight': '30' }, [['/', 'Prefix', service]]);
    const { model, diagnostics } = run(`${SERVICES}${svc('web-v3', ['10.0.0.3'])}${OLD('web-v2')}${NEW('web')}${canary('canary1', '2021-01-01T00:00:00Z', 'web-v2')}${canary('canary2', '2022-01-01T00:00:00Z', 'web-v3')}`);
    assert.deepEqual(diagnostics.map(rule), [
      'Ingress default/canary1 spec.rules[0].http.paths[0] canary-unmatched: Prefix / on host c.test already sends to this Service port; the canary changes nothing there',
      'Ingress default/new spec.rules[0].http.paths[0] M3: Prefix / on host c.test is already routed by Ingress default/old, which wins (oldest first; same age: namespace/name order); this path is ignored',
    ]);
    const root = model.hostGroups[0]!.prefix[0]!;
    assert.equal(root.backend, 'be_default_web-v2_80');
    assert.equal(root.policy.canary?.backend, 'be_default_web-v3_80');
    assert.equal(root.policy.canary?.ingress, 'default/canary2');
  });

  test('the kept route is itself outranked on its lookup key (Prefix /foo/ over Prefix /foo): canary-unmatched, no canary anywhere', () => {
    const slash = ing('slash', '2021-01-01T00:00:00Z', {}, [['/foo/', 'Prefix', 'web']]);
    const bare = ing('bare', '2020-01-01T00:00:00Z', {}, [['/foo', 'Prefix', 'web']]);
    const canary = ing('canary', '2022-01-01T00:00:00Z', { canary: 'true', 'canary-weight': '30' }, [['/foo', 'Prefix', 'web-v2']]);
    const { model, diagnostics } = run(`${SERVICES}${slash}${bare}${canary}`);
    assert.deepEqual(diagnostics.map(rule), [
      'Ingress default/canary spec.rules[0].http.paths[0] canary-unmatched: Prefix /foo on host c.test is answered by Prefix /foo/ of Ingress default/slash, which outranks it (rule P10): this canary path serves nothing',
    ]);
    assert.deepEqual(model.hostGroups[0]!.prefix.map((r) => [r.path, r.source.ingress, r.policy.canary]), [['/foo/', 'default/slash', undefined]]);
    assert.ok(!model.backends.some((b) => b.name.includes('web-v2')), 'no backend for a canary that serves nothing');
  });

  test('the main Ingress deleted: the canary serves nothing, and its backend goes', () => {
    const { model, diagnostics } = run(CANARY('30'));
    assert.deepEqual(model.hostGroups, []);
    assert.deepEqual(model.backends, []);
    assert.deepEqual(diagnostics.map((d) => d.rule), ['canary-unmatched']);
  });
});

void describe('canary.map lines and rules', () => {
  const c: CanaryPolicy = { backend: 'be_default_web-v2_80', ingress: 'default/canary', weight: 25, weightTotal: 1000, header: { name: 'x-canary', pattern: '^v2|b$' }, cookie: 'beta' };

  test('one word: section (as sectionOf names it), weight, total, header, cookie, match', () => {
    assert.equal(canaryValue(c, (b) => b), 'be_default_web-v2_80;25;1000;x-canary;beta;~^v2|b$');
    assert.equal(canaryValue({ ...c, header: { name: 'x', value: 'blue' }, cookie: undefined }, () => 'spare_3'), 'spare_3;25;1000;x;;=blue');
    assert.equal(canaryValue({ backend: 'b', ingress: 'x/y', weight: 0, weightTotal: 100 }, (b) => b), 'b;0;100;;;');
  });

  test('render refuses what translate never produces', () => {
    const bad: CanaryPolicy[] = [
      { ...c, header: { name: 'X Canary' } },
      { ...c, header: { name: 'x', value: 'a;b' } },
      { ...c, header: { name: 'x', pattern: 'a b' } },
      { ...c, header: { name: 'x', pattern: 'a;b' } },
      { ...c, cookie: 'a=b' },
      { ...c, weight: -1 },
      { ...c, weight: 1.5 },
      { ...c, weightTotal: 99 },
    ];
    for (const b of bad) assert.throws(() => canaryValue(b, (x) => x), /render: refusing canary/, JSON.stringify(b));
    assert.throws(() => canaryValue(c, () => 'a b'), /render: refusing canary section/);
  });

  test('the rules and the Lua exist only while some route has a canary', () => {
    const plain = run(MAIN).model;
    assert.ok(!featuresInUse(plain).has('canary'));
    assert.ok(!renderConfig(plain, OPTIONS).includes('canary'));
    const withCanary = run(`${MAIN}${CANARY('30')}`).model;
    const config = renderConfig(withCanary, OPTIONS);
    assert.match(config, /lua-load \S+\/lua\/canary\.lua/);
    assert.match(config, /http-request set-var\(txn\.canary\) var\(txn\.route\),field\(-1,\|\),map_str\(\S+\/maps\/canary\.map\) if \{ var\(txn\.route\) -m sub \|p\. \}/);
    assert.match(config, /http-request lua\.portico_canary if \{ var\(txn\.canary\) -m found \}/);
    // The decision precedes the body rules, which read the route's section for the body gate.
    assert.ok(config.indexOf('lua.portico_canary') < config.indexOf('portico_body_gate|'));
    assert.deepEqual(renderMaps(withCanary).get('maps/canary.map')?.split('\n').filter((l) => l !== '').map((l) => l.split(' ')[1]), ['be_default_web-v2_80;30;100;;;']);
  });
});

void describe('plan', () => {
  const base = `${svc('web', ['10.0.0.1'])}${svc('web-v2', ['10.0.0.2'])}${MAIN}`;

  test('the first canary takes a reload: the frontend has no rule for it yet', () => {
    const p = plan(reloadedWith(run(base).model), run(`${base}${CANARY('30')}`).model, DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /canary/);
  });

  test('a changed weight is one map update', () => {
    const state = reloadedWith(run(`${base}${CANARY('30')}`).model);
    const next = ops(state, run(`${base}${CANARY('70')}`).model);
    assert.deepEqual(opSummary(next.ops), [`map-set maps/canary.map ${next.ops[0]?.op === 'map-set' ? next.ops[0].key : ''} be_default_web-v2_80;70;100;;;`]);
  });

  test('a canary Service new at runtime is bound to a spare, and its line names the spare', () => {
    const state = reloadedWith(run(`${base}${svc('web-v3', ['10.0.0.3'])}${CANARY('30')}`).model);
    const next = ops(state, run(`${base}${svc('web-v3', ['10.0.0.3'])}${CANARY('30', 'web-v3')}`).model);
    const summary = opSummary(next.ops);
    assert.ok(summary.includes('add-server spare_0/ep_10_0_0_3_3000'), summary.join('\n'));
    assert.ok(summary.some((l) => /^map-set maps\/canary\.map p\.\w+ spare_0;30;100;;;$/.test(l)), summary.join('\n'));
    assert.ok(summary.includes('del-server be_default_web-v2_80/ep_10_0_0_2_3000'), summary.join('\n'));
  });

  test('the canary deleted: its line goes, the route value loses its id, no reload', () => {
    const state = reloadedWith(run(`${base}${CANARY('30')}`).model);
    const next = ops(state, run(base).model);
    const summary = opSummary(next.ops);
    assert.ok(summary.some((l) => /^map-set maps\/paths\.map c\.test\/ rs?-\|be_default_web_80$|^map-set maps\/paths\.map c\.test\/ --\|be_default_web_80$/.test(l)), summary.join('\n'));
    assert.ok(summary.some((l) => /^map-del maps\/canary\.map p\.\w+$/.test(l)), summary.join('\n'));
  });
});

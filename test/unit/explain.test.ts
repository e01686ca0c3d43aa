// explain's matcher against the routing maps render writes: for every golden case (the rule reference's host,
// path-precedence, default-backend and annotation cases), every route key is asked for in several forms, and
// explain's route must be the one a literal reading of the rendered maps gives (HAProxy's map_str, map_beg and
// map_reg simulated line by line, with no index). Then the rule reference's cases by name, the candidates, the
// policies and the cost per request at 10,000 Ingresses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import { render, routeValue } from '../../src/haproxy/render/render.js';
import type { HostGroup, TranslateResult } from '../../src/model/types.js';
import { testRenderOptions } from '../render-options.js';
import { canonicalPath } from '../../src/translate/path-canonical.js';
import { withDebugHeaders } from '../../src/explain/debug-headers.js';
import { explainRequest, lookupRoute, matchRoute, requestFromUrl, routeIndexOf, normaliseHost, explainText } from '../../src/explain/index.js';
import type { Explanation } from '../../src/explain/index.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CASES_DIR = join(REPO_ROOT, 'test', 'golden');
const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };

function load(dir: string): { snapshot: Snapshot; result: TranslateResult } {
  const parsed = parseManifestText(readFileSync(join(dir, 'in.yaml'), 'utf8'));
  if (!parsed.ok) throw new Error(`${dir}: ${parsed.error}`);
  const { snapshot } = snapshotFromFiles(new Map([['in.yaml', parsed.objects]]));
  const optionsFile = join(dir, 'options.json');
  const options = existsSync(optionsFile) ? { ...OPTIONS, ...(JSON.parse(readFileSync(optionsFile, 'utf8')) as Partial<TranslateOptions>) } : OPTIONS;
  return { snapshot, result: translate(snapshot, options) };
}

/** The rendered routing maps, read line by line as HAProxy reads map files. */
class MapOracle {
  private readonly maps = new Map<string, [string, string][]>();
  constructor(files: Map<string, string>) {
    for (const name of ['hosts', 'wildcards', 'paths', 'defaults', 'paths-regex'])
      this.maps.set(
        name,
        (files.get(`maps/${name}.map`) ?? '')
          .split('\n')
          .filter((l) => l !== '' && !l.startsWith('#'))
          .map((l) => {
            const i = l.indexOf(' ');
            return [l.slice(0, i), l.slice(i + 1)];
          }),
      );
  }
  private str(map: string, key: string): string | undefined {
    return this.maps.get(map)!.find(([k]) => k === key)?.[1];
  }
  private beg(map: string, s: string): string | undefined {
    let best: [string, string] | undefined;
    for (const e of this.maps.get(map)!) if (s.startsWith(e[0]) && (!best || e[0].length > best[0].length)) best = e;
    return best?.[1];
  }
  private reg(map: string, s: string): string | undefined {
    // `(?i)` after the literal group key: the rest is caseless. JavaScript has no inline flag, so the key is split.
    for (const [k, v] of this.maps.get(map)!) {
      const i = k.indexOf('(?i)');
      const group = k.slice(1, i).replace(/\\(.)/g, '$1');
      if (s.startsWith(group) && new RegExp(`^${k.slice(i + 4)}`, 'i').test(s.slice(group.length))) return v;
    }
    return undefined;
  }
  /** The frontend's slow path (the fast path gives the same answer: it looks up the same paths map). */
  route(hostHeader: string, path: string): string | undefined {
    const host = hostHeader.toLowerCase().split(':')[0]!.replace(/\.$/, '');
    let group = this.str('hosts', host);
    if (group === undefined && /^[a-z0-9-]+\./.test(host)) group = this.str('wildcards', host.replace(/^[^.]+\./, '*.'));
    group ??= this.str('hosts', '*');
    if (group === undefined) return this.str('defaults', '*catch-all*');
    return this.beg('paths', `${group}${path}?`) ?? this.reg('paths-regex', group + path) ?? this.str('defaults', group);
  }
}

function hostsOf(g: HostGroup): string[] {
  const names = [g.key, ...(g.aliases ?? [])];
  return names.flatMap((h) => {
    if (h === '*') return ['no-such-host.invalid', '192.0.2.1', ''];
    if (h.startsWith('*.')) return [`abc${h.slice(1)}`, `a.b${h.slice(1)}`, h.slice(2), `ABC${h.slice(1).toUpperCase()}:8080`];
    return [h, `${h.toUpperCase()}:8443`, `${h}.`, `x.${h}`];
  });
}

function pathsOf(g: HostGroup): string[] {
  const out = new Set(['/', '/zz-none', '/zz-none/deeper']);
  for (const r of [...g.exact, ...g.prefix, ...(g.regex ?? [])]) {
    const p = r.path === '' ? '/' : r.path;
    const trimmed = p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
    // Requests in canonical form only: the oracle reads the maps as HAProxy does after normalize-uri.
    for (const q of [p, trimmed, `${trimmed}/`, `${trimmed}/zz`, `${trimmed}zz`, p.toUpperCase()]) if (q.startsWith('/') && !/[\\[\](){}*+?|^$]/.test(q) && canonicalPath(q).ok && (canonicalPath(q) as { path: string }).path === q) out.add(q);
  }
  return [...out];
}

function caseNames(): string[] {
  return readdirSync(CASES_DIR)
    .filter((d) => statSync(join(CASES_DIR, d)).isDirectory() && existsSync(join(CASES_DIR, d, 'in.yaml')))
    .sort();
}

describe('explain routes every golden case exactly as the rendered maps do', () => {
  for (const name of caseNames()) {
    test(name, () => {
      const { result } = load(join(CASES_DIR, name));
      let files: Map<string, string>;
      try {
        files = render(result.model, testRenderOptions(), 'X').files;
      } catch {
        return; // a case whose render is refused (hostile inputs) has no maps to compare with
      }
      const oracle = new MapOracle(files);
      const ix = routeIndexOf(result.model);
      const tlsOf = new Map(result.model.hostGroups.map((g) => [g.key, g.tlsHost === true]));
      let asked = 0;
      for (const g of result.model.hostGroups) {
        for (const host of hostsOf(g)) {
          for (const path of pathsOf(g)) {
            const expected = oracle.route(host, path);
            const m = matchRoute(ix, normaliseHost(host), path);
            const got = m.route ? routeValue(m.route.route, undefined, m.route.group !== undefined && tlsOf.get(m.route.group) === true) : undefined;
            assert.equal(got === undefined, expected === undefined, `${name}: ${host}${path}: explain ${got ?? 'no route'}, maps ${expected ?? 'no route'}`);
            if (got !== undefined) assert.ok(expected!.startsWith(got), `${name}: ${host}${path}: explain ${got}, maps ${expected}`);
            const e = explainRequest(result, { method: 'GET', scheme: 'http', host, path, headers: {} }, { candidates: false });
            // app-root answers `/` before routing matters (its own test below); everything else must name the route.
            if (m.route && !(g.appRoot !== undefined && path === '/')) {
              const s = m.route.route.source;
              assert.equal(e.route?.ingress, s.ingress, `${name}: ${host}${path}`);
              assert.equal(e.route?.rule, 'rule' in s ? s.rule : undefined);
              assert.equal(e.route?.path, 'rule' in s ? s.path : undefined);
            } else assert.ok(e.outcome === 'not-found' || e.outcome === 'answered', `${name}: ${host}${path}: ${e.outcome}`);
            asked++;
          }
        }
      }
      if (result.model.hostGroups.length > 0) assert.ok(asked > 0);
    });
  }
});

function explainIn(caseName: string, url: string, headers: string[] = [], method = 'GET', client?: string): Explanation {
  const { snapshot, result } = load(join(CASES_DIR, caseName));
  return explainRequest({ result, snapshot }, requestFromUrl(url, method, headers, client !== undefined ? { clientAddress: client } : {}));
}

describe('the rule reference, case by case', () => {
  test('P11-P13, P3, P12: longest prefix, exact before prefix, case-sensitive, 404 within a host', () => {
    const at = (u: string): string | undefined => {
      const e = explainIn('paths-precedence', u);
      return e.route ? `${e.route.pathType} ${e.route.ingressPath}` : String(e.status);
    };
    assert.equal(at('http://p.example.com/aaa/bbb/ccc'), 'Prefix /aaa/bbb/');
    assert.equal(at('http://p.example.com/aaa/ccc'), 'Prefix /aaa');
    assert.equal(at('http://p.example.com/aaaccc'), 'Prefix /');
    assert.equal(at('http://p.example.com/foo'), 'Exact /foo');
    assert.equal(at('http://p.example.com/foo/'), 'Exact /foo/');
    assert.equal(at('http://p.example.com/FOO'), 'Exact /FOO');
    assert.equal(at('http://p.example.com/foo/x'), 'Prefix /foo');
    assert.equal(at('http://p13.example.com/ccc'), '404');
    assert.equal(at('http://x.example.com/e'), 'Exact /e');
  });

  test('H2-H7: exact host first, one-label wildcard, the any-host group, and H6 keeps to the chosen group', () => {
    const group = (u: string): string | undefined => explainIn('hosts-mixture', u).hostGroup;
    assert.equal(group('http://foo.example.com/'), 'foo.example.com');
    assert.equal(group('http://FOO.example.com.:81/'), 'foo.example.com');
    assert.equal(group('http://bar.example.com/'), '*.example.com');
    assert.equal(group('http://a.foo.example.com/'), '*.foo.example.com');
    assert.equal(group('http://a.b.example.com/'), '*');
    assert.equal(group('http://example.com/'), '*');
    const h6 = explainIn('hosts-mixture', 'http://only-exact.example.com/y');
    assert.equal(h6.status, 404);
    assert.equal(h6.steps.at(-1)?.rule, 'H6');
    assert.ok(h6.candidates.some((c) => c.ruleId === 'H5' && c.host === '*.example.com'), JSON.stringify(h6.candidates));
  });

  test('the candidates name the M3 loser, a shadowed path with its P10 step, and a class that is not ours', () => {
    const e = explainIn('paths-precedence', 'http://x.example.com/e');
    assert.ok(e.candidates.some((c) => c.ingress === 'default/new' && c.ruleId === 'M3'));
    const s = explainIn('paths-precedence', 'http://p.example.com/aaa/bbb/ccc');
    assert.ok(s.candidates.some((c) => c.ingressPath === '/aaa/bbb' && c.ruleId === 'P10' && c.reason.includes('P10.3')));
    for (const name of caseNames().filter((n) => n.startsWith('classes-'))) {
      const { snapshot, result } = load(join(CASES_DIR, name));
      for (const s2 of result.model.ingresses.filter((i) => !i.owned)) {
        const ing = snapshot.ingresses.find((o) => `${(o.metadata as { namespace?: string }).namespace ?? 'default'}/${(o.metadata as { name: string }).name}` === s2.ingress);
        const rule = ((ing?.spec as { rules?: { host?: string; http?: { paths?: { path?: string }[] } }[] } | undefined)?.rules ?? [])[0];
        if (!rule) continue;
        const host = rule.host === undefined || rule.host.startsWith('*') ? 'x.invalid' : rule.host;
        const x = explainRequest({ result, snapshot }, requestFromUrl(`http://${host}${rule.http?.paths?.[0]?.path ?? '/'}`));
        assert.ok(x.candidates.some((c) => c.ingress === s2.ingress && /^C\d$/.test(c.ruleId)), `${name}: ${s2.ingress}: ${JSON.stringify(x.candidates)}`);
      }
    }
  });

  test('400 before routing for a path HAProxy refuses, and the canonical path is what routes', () => {
    assert.equal(explainIn('paths-precedence', 'http://p.example.com/a%2fb').status, 400);
    const e = explainIn('paths-precedence', 'http://p.example.com/aaa//bbb/./x/../c');
    assert.equal(e.request.path, '/aaa/bbb/c');
    assert.equal(e.route?.ingressPath, '/aaa/bbb/');
  });
});

describe('policies on the way', () => {
  test('rule T9 and an https request', () => {
    const name = caseNames().find((n) => n === 'tls-redirect-flags')!;
    const { result } = load(join(CASES_DIR, name));
    const g = result.model.hostGroups.find((x) => x.tlsHost && [...x.exact, ...x.prefix].some((r) => r.policy.redirectToHttps) && !x.key.startsWith('*'))!;
    const r = [...g.prefix, ...g.exact].find((x) => x.policy.redirectToHttps)!;
    const path = r.path === '' ? '/' : r.path;
    const e = explainRequest(result, requestFromUrl(`http://${g.key}${path}?q=1`));
    assert.equal(e.status, 308);
    assert.ok(e.location?.startsWith(`https://${g.key}`));
    const acme = explainRequest(result, requestFromUrl(`http://${g.key}/.well-known/acme-challenge/x`));
    assert.notEqual(acme.status, 308);
    assert.equal(explainRequest(result, requestFromUrl(`https://${g.key}${path}`)).status === 308, false);
  });

  test('every annotation case explains every route without throwing, deterministically, with a text form', () => {
    for (const name of caseNames().filter((n) => n.startsWith('annotations-') || n.startsWith('configmap-'))) {
      const { snapshot, result } = load(join(CASES_DIR, name));
      for (const g of result.model.hostGroups)
        for (const r of [...g.exact, ...g.prefix]) {
          const host = g.key === '*' ? 'any.invalid' : g.key.startsWith('*.') ? `w${g.key.slice(1)}` : g.key;
          for (const [method, headers] of [['GET', []], ['OPTIONS', ['Origin: https://a.example.com']], ['GET', ['Authorization: Basic eDp5', 'Cookie: canary=always']]] as [string, string[]][]) {
            const req = requestFromUrl(`http://${host}${r.path === '' ? '/' : r.path}`, method, headers, { clientAddress: '10.1.2.3' });
            const a = explainRequest({ result, snapshot }, req);
            assert.deepEqual(explainRequest({ result, snapshot }, req), a, `${name}: deterministic`);
            assert.ok(explainText(a).length > 0);
            assert.notEqual(a.outcome, 'not-found', `${name}: ${host}${r.path}`);
          }
        }
    }
  });

  test('rewrite-target: the path the backend receives', () => {
    const { result } = load(join(CASES_DIR, 'annotations-rewrite'));
    // Ingress api: rewrite-target "/$2" on /api(/|$)(.*); the query stays.
    const e = explainRequest(result, requestFromUrl('http://r.example.com/api/items/7?x=1'));
    assert.equal(e.route?.ingress, 'default/api');
    assert.ok(e.policies.some((p) => p.policy === 'rewrite-target'), JSON.stringify(e.policies));
    assert.equal(e.upstreamPath, '/items/7?x=1');
    assert.equal(explainRequest(result, requestFromUrl('http://r.example.com/static/x')).upstreamPath, '/static/x');
  });
});

describe('cost per request at 10,000 Ingresses', () => {
  test('lookupRoute and explainRequest stay flat (index built once per model)', () => {
    const docs: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const host = i % 10 === 0 ? `"*.w${i}.example.com"` : `h${i}.example.com`;
      docs.push(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: i${i}, namespace: ns${i % 50}}
spec:
  rules:
  - host: ${host}
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: s${i % 100}, port: {number: 80}}}}
      - {path: /api/v${i % 3}, pathType: Prefix, backend: {service: {name: s${(i + 1) % 100}, port: {number: 80}}}}
      - {path: /exact, pathType: Exact, backend: {service: {name: s${(i + 2) % 100}, port: {number: 80}}}}`);
    }
    const parsed = parseManifestText(docs.join('\n---\n'));
    assert.ok(parsed.ok);
    const { snapshot } = snapshotFromFiles(new Map([['gen.yaml', parsed.objects]]));
    const result = translate(snapshot, OPTIONS);
    assert.equal(result.model.hostGroups.length, 10_000);
    let t = performance.now();
    routeIndexOf(result.model);
    const buildMs = performance.now() - t;
    const N = 100_000;
    t = performance.now();
    let found = 0;
    for (let k = 0; k < N; k++) {
      const i = (k * 7919) % 10_000;
      const host = i % 10 === 0 ? `x.w${i}.example.com` : `h${i}.example.com`;
      if (lookupRoute(result.model, host, `/api/v${i % 3}/items/${k}`)?.pathType === 'Prefix') found++;
    }
    const lookupUs = ((performance.now() - t) * 1000) / N;
    assert.equal(found, N);
    t = performance.now();
    for (let k = 0; k < 10_000; k++) explainRequest(result, { method: 'GET', scheme: 'https', host: `h${k | 1}.example.com`, path: '/exact', headers: {} }, { candidates: false });
    const explainUs = ((performance.now() - t) * 1000) / 10_000;
    // With candidates and the objects (the CLI and /debug/explain): a scan of every Ingress's rules.
    t = performance.now();
    let full = explainRequest({ result, snapshot }, { method: 'GET', scheme: 'http', host: 'h7.example.com', path: '/api/v1/x', headers: {} });
    for (let k = 0; k < 9; k++) full = explainRequest({ result, snapshot }, { method: 'GET', scheme: 'http', host: 'h7.example.com', path: '/api/v1/x', headers: {} });
    const fullMs = (performance.now() - t) / 10;
    assert.equal(full.route?.ingressPath, '/api/v1');
    assert.ok(full.candidates.some((c) => c.ingressPath === '/'));
    process.stdout.write(`# explain at 10,000 Ingresses: index built in ${buildMs.toFixed(1)} ms; lookupRoute ${lookupUs.toFixed(2)} µs per call; explainRequest (no candidates) ${explainUs.toFixed(2)} µs per call; with candidates from the objects ${fullMs.toFixed(1)} ms\n`);
    // Generous bounds on a shared 2-core machine: a linear scan of 10,000 groups would take milliseconds per call.
    assert.ok(lookupUs < 100, `lookupRoute ${lookupUs} µs`);
    assert.ok(explainUs < 500, `explainRequest ${explainUs} µs`);
  });
});

describe('--debug-headers in what HAProxy is given', () => {
  test("route names are map data of the routes only while the flag is on; translate's model and a plain configuration are untouched", () => {
    const { result } = load(join(CASES_DIR, 'annotations-canary'));
    const before = JSON.stringify(result.model);
    const on = withDebugHeaders(result.model);
    assert.equal(JSON.stringify(result.model), before, 'the translated model is not changed');
    assert.equal(withDebugHeaders(result.model), on, 'one rewrite per model');
    const plain = render(result.model, testRenderOptions(), 'X');
    const debug = render(on, testRenderOptions(), 'X');
    assert.doesNotMatch(plain.config, /X-Portico/);
    assert.equal(plain.files.has('maps/debug-ingress.map'), false);
    assert.match(debug.config, /http-after-response set-header X-Portico-Route /);
    const ingressLines = debug.files.get('maps/debug-ingress.map')!.trim().split('\n');
    const routes = result.model.hostGroups.reduce((n, g) => n + g.exact.length + g.prefix.length + (g.regex?.length ?? 0) + (g.defaultBackend ? 1 : 0), 0) + (result.model.catchAll ? 1 : 0);
    assert.equal(ingressLines.length, routes);
    // A canary's route names both Services, keyed by route id and the section serving each.
    const services = debug.files.get('maps/debug-services.map')!;
    assert.match(services, /\|be_[a-z0-9_-]+ [a-z0-9-]+\/[a-z0-9-]+:\d+\n/);
    const canaryRoute = result.model.hostGroups.flatMap((g) => g.prefix).find((r) => r.policy.canary)!;
    const canarySection = canaryRoute.policy.canary!.backend;
    assert.ok(services.includes(`|${canarySection} `), services);
  });

  test('a group translate kept keeps its rewritten copy (the planner compares groups by identity)', () => {
    const { result } = load(join(CASES_DIR, 'hosts-mixture'));
    const a = withDebugHeaders(result.model);
    const b = withDebugHeaders({ ...result.model, hostGroups: [...result.model.hostGroups] });
    assert.notEqual(a, b);
    a.hostGroups.forEach((g, i) => assert.equal(b.hostGroups[i], g));
  });
});

describe('hostile requests', () => {
  test('a megabyte path, a megabyte of slashes, odd hosts: answered quickly, nothing thrown', () => {
    const { result } = load(join(CASES_DIR, 'paths-precedence'));
    for (const path of [`/aaa/${'b'.repeat(1 << 20)}`, '/a'.repeat(1 << 19), `/aaa/bbb/${'x/'.repeat(1 << 18)}`]) {
      const t = performance.now();
      const r = lookupRoute(result.model, 'p.example.com', path);
      assert.ok(performance.now() - t < 1000, 'linear in the path');
      assert.ok(r !== undefined);
    }
    assert.equal(lookupRoute(result.model, 'p.example.com', '/aaa/bbb/ccc')?.ingressPath, '/aaa/bbb/');
    for (const host of ['', '[::1]:80', 'p.example.com\n', '*', '*.example.com', 'a'.repeat(100_000), 'p.example.com,evil.com'])
      assert.doesNotThrow(() => explainRequest(result, { method: 'GET', scheme: 'https', host, path: '/', headers: {}, sni: host }));
    assert.throws(() => requestFromUrl('http://x/', 'GET', ['X: a\r\nInjected: 1']));
    assert.throws(() => requestFromUrl(`http://x/${'a'.repeat(20_000)}`));
    assert.throws(() => requestFromUrl('http://x/', 'GET\r\n'));
  });
});

describe('candidates from the objects', () => {
  test('an invalid Ingress with its error, a resource backend (D6), a canary, and the winner of an M3 tie', () => {
    const parsed = parseManifestText(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: good, namespace: a, creationTimestamp: "2020-01-01T00:00:00Z"}
spec: {rules: [{host: c.test, http: {paths: [{path: /x, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: broken, namespace: a}
spec: {rules: [{host: c.test, http: {paths: [{path: /x/y, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: resource, namespace: a}
spec: {rules: [{host: c.test, http: {paths: [{path: /x/y/z, pathType: Prefix, backend: {resource: {apiGroup: k8s.example.com, kind: Bucket, name: b}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: later, namespace: a, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {rules: [{host: c.test, http: {paths: [{path: /x, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: canary, namespace: a, annotations: {nginx.ingress.kubernetes.io/canary: "true", nginx.ingress.kubernetes.io/canary-weight: "10"}}
spec: {rules: [{host: c.test, http: {paths: [{path: /x, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}]}}]}
`);
    assert.ok(parsed.ok);
    const { snapshot } = snapshotFromFiles(new Map([['c.yaml', parsed.objects]]));
    const result = translate(snapshot, OPTIONS);
    const e = explainRequest({ result, snapshot }, requestFromUrl('http://c.test/x/y/z/w'));
    assert.equal(e.route?.ingress, 'a/good');
    const by = (name: string) => e.candidates.find((c) => c.ingress === name);
    assert.equal(by('a/broken')?.ruleId, 'V11', JSON.stringify(by('a/broken')));
    assert.ok((by('a/broken')?.diagnostics ?? []).length > 0);
    assert.equal(by('a/resource')?.ruleId, 'D6', JSON.stringify(by('a/resource')));
    assert.equal(by('a/later')?.ruleId, 'M3', JSON.stringify(by('a/later')));
    assert.equal(by('a/canary')?.ruleId, 'canary');
    assert.match(e.canary?.why ?? '', /drawn: the canary 10 times in 100/);
    assert.equal(e.canary?.decision, 'weighted');
  });
});

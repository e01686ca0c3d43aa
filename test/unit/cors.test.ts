// The CORS family end to end without HAProxy: the grammars of its annotations (good values in canonical form, hostile
// ones refused with the reason A1 shows), an invalid origin list allowing no origin instead of falling back to `*`,
// the route policy, render's map lines and own checks, the exact rules and their place in the frontend, and the
// runtime plan (a changed origin list or header value is map operations, not a reload). The e2e test shows what a
// browser sees; these pin what decides it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { CORS_DEFAULTS } from '../../src/translate/annotations/cors.js';
import { headerNameList, headerNameOrStarList, methodList, originList } from '../../src/translate/annotations/values.js';
import type { ValueGrammar } from '../../src/translate/annotations/values.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { CORS_MAPS, corsData, corsRequestRules, corsResponseRules } from '../../src/haproxy/render/policy/cors.js';
import { featuresInUse, renderConfig, renderMaps, routeFeatures, routeId } from '../../src/haproxy/render/render.js';
import type { CorsPolicy, RoutingModel } from '../../src/model/types.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { BACKEND, OPTIONS, group, model, prefix, sectionLines } from './render-model.js';
import { DEFAULT_PEM, opSummary, ops, reloadedWith } from './plan-fixtures.js';

const P = 'nginx.ingress.kubernetes.io/';
const refusal = <T>(g: ValueGrammar<T>, raw: string): string => {
  const p = g.parse(raw);
  assert.equal(p.ok, false, `${g.describe} accepted ${JSON.stringify(raw)}`);
  return p.ok ? '' : p.reason;
};
const parsed = <T>(g: ValueGrammar<T>, raw: string): T => {
  const p = g.parse(raw);
  assert.ok(p.ok, `${g.describe} refused ${JSON.stringify(raw)}: ${p.ok ? '' : p.reason}`);
  return p.value;
};
/** Strings that must never reach a map line or a header: breaks, quotes, comments, braces, HAProxy words. */
const HOSTILE = ['GET\nPOST', 'GET\r\nX: y', 'GET\0', '"GET"', "'GET'", 'GET#x', '#', '{GET}', 'GET }', '%[src]', 'GET\tPOST', 'GET POST', 'if { src 1.2.3.4 }', 'http-request deny', '\\GET', 'GET;POST', 'GET|POST'];

void describe('CORS grammars', () => {
  test('lists in canonical form: spaces around commas dropped, empty items skipped, case kept', () => {
    assert.equal(parsed(methodList, 'GET, PUT ,POST,  DELETE'), 'GET,PUT,POST,DELETE');
    assert.equal(parsed(methodList, 'get,'), 'get');
    assert.equal(parsed(headerNameList, 'X-Custom, Content-Type, x_under'), 'X-Custom,Content-Type,x_under');
    assert.equal(parsed(headerNameOrStarList, '*, X-Total'), '*,X-Total');
    assert.equal(refusal(methodList, ' , '), '" , " is not a comma-separated list of HTTP methods (letters)');
    assert.equal(refusal(methodList, 'GET, P0ST'), '"P0ST" in "GET, P0ST" is not one of HTTP methods (letters)');
    assert.equal(refusal(headerNameList, '*'), '"*" is not a comma-separated list of header names (letters, digits, - and _)');
  });

  test('hostile list values are refused whole: breaks, quotes, #, braces, tabs, spaces inside items, HAProxy words', () => {
    for (const g of [methodList, headerNameList, headerNameOrStarList]) for (const bad of HOSTILE) refusal(g, bad);
    for (const g of [methodList, headerNameList, headerNameOrStarList]) assert.match(refusal(g, `GET,${'A'.repeat(1024 * 1024)}`), /is longer than 16384 characters/);
  });

  test('origins: lowercased, deduplicated; a one-label wildcard, ports 1-65535, null; * anywhere means any origin', () => {
    assert.deepEqual(parsed(originList, 'https://App.Example.com, http://localhost:3000,https://*.example.org:8443 , null, https://app.example.com'), [
      'https://app.example.com',
      'http://localhost:3000',
      'https://*.example.org:8443',
      'null',
    ]);
    assert.equal(parsed(originList, '*'), '*');
    assert.equal(parsed(originList, 'https://a.example, *'), '*');
    assert.deepEqual(parsed(originList, 'chrome-extension://abc, http://h:65535'), ['chrome-extension://abc', 'http://h:65535']);
  });

  test('anything that is not an origin is refused, and the reason names the item', () => {
    const bad = [
      'example.com', 'https://', 'https://a.example/', 'https://a.example/path', 'https://a.example?x', 'https://a.example#x', 'https://user@a.example',
      'https://a.*.example', 'https://*.*.example', 'https://*example.com', 'https://*', 'https://a.example:0', 'https://a.example:65536', 'https://a.example:',
      'https://-a.example', 'https://a-.example', 'https://a..example', 'https://[::1]', 'https://a_b.example', '1http://a.example', 'https://a.example:8443:1',
      'https:// a.example', 'https://a.example\n', 'https://a.example\nhttp-request deny', '"https://a.example"', 'https://a.example}', 'nul', 'NULL ',
      `https://${'a'.repeat(64)}.example`,
    ];
    for (const raw of bad) if (raw !== 'NULL ') assert.match(refusal(originList, raw), /is not an origin/, JSON.stringify(raw));
    assert.deepEqual(parsed(originList, 'NULL '), ['null'], 'null in any case, as ingress-nginx matches it');
    assert.equal(refusal(originList, 'https://ok.example, https://a.example/x'), '"https://a.example/x" in "https://ok.example, https://a.example/x" is not an origin (scheme://host[:port], scheme://*.domain[:port], null or *)');
    assert.equal(refusal(originList, ','), '"," names no origin');
    assert.match(refusal(originList, `https://a.example,${'https://b.example,'.repeat(60_000)}`), /is longer than 16384 characters/);
  });

  test('whatever the input, an accepted origin list holds only lowercase origins a map key can carry', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('', 'https://', 'https://*.', 'null,'), (s, head) => {
        const p = originList.parse(head + s);
        if (!p.ok || p.value === '*') return;
        for (const o of p.value) assert.match(o, /^(null|[a-z][a-z0-9+.-]*:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?)$/, JSON.stringify(head + s));
      }),
      { numRuns: 3000 },
    );
  });
});

void describe('CORS annotations and the route policy', () => {
  const parse = (a: Record<string, string>): { policy: CorsPolicy | undefined; findings: string[] } => {
    const f = new Findings('Ingress default/site');
    const v = parseIngressAnnotations(a, f);
    return { policy: routePolicy(v, false, { sslRedirect: true, forceSslRedirect: false }).cors, findings: f.list.map((d) => `${d.rule} ${d.field}: ${d.message}`) };
  };

  test("enable-cors alone: ingress-nginx's defaults; the cors-* values without it do nothing, with no finding", () => {
    assert.deepEqual(parse({ [`${P}enable-cors`]: 'true' }), {
      policy: { origins: '*', methods: CORS_DEFAULTS.methods, headers: CORS_DEFAULTS.headers, credentials: true, maxAgeSeconds: 1_728_000 },
      findings: [],
    });
    assert.deepEqual(parse({ [`${P}enable-cors`]: 'false', [`${P}cors-allow-origin`]: 'https://a.example', [`${P}cors-max-age`]: '5' }), { policy: undefined, findings: [] });
    assert.deepEqual(parse({ [`${P}cors-allow-origin`]: 'https://a.example' }), { policy: undefined, findings: [] });
  });

  test('every annotation set, under either prefix (portico.dev/ wins)', () => {
    const { policy, findings } = parse({
      [`${P}enable-cors`]: 'True',
      [`${P}cors-allow-origin`]: 'https://a.example',
      'portico.dev/cors-allow-origin': 'https://b.example, https://*.c.example',
      [`${P}cors-allow-methods`]: 'GET, POST',
      [`${P}cors-allow-headers`]: 'X-A',
      [`${P}cors-expose-headers`]: 'X-B, *',
      [`${P}cors-allow-credentials`]: 'false',
      [`${P}cors-max-age`]: '0',
    });
    assert.deepEqual(findings, []);
    assert.deepEqual(policy, { origins: ['https://b.example', 'https://*.c.example'], methods: 'GET,POST', headers: 'X-A', exposeHeaders: 'X-B,*', credentials: false, maxAgeSeconds: 0 });
  });

  test('an invalid origin list is A1 and allows no origin (never the default *); the other values fall back one by one', () => {
    const { policy, findings } = parse({
      [`${P}enable-cors`]: 'true',
      [`${P}cors-allow-origin`]: 'https://a.example\n  http-request deny',
      [`${P}cors-allow-methods`]: 'GET #',
      [`${P}cors-max-age`]: '-1',
    });
    assert.deepEqual(policy, { origins: [], methods: CORS_DEFAULTS.methods, headers: CORS_DEFAULTS.headers, credentials: true, maxAgeSeconds: 1_728_000 });
    assert.deepEqual(findings, [
      `A1 metadata.annotations[${P}cors-allow-origin]: "https://a.example\\n  http-request deny" is not an origin (scheme://host[:port], scheme://*.domain[:port], null or *); the annotation is ignored, and without a valid list under the other prefix no origin is allowed`,
      `A1 metadata.annotations[${P}cors-allow-methods]: "GET #" is not a comma-separated list of HTTP methods (letters); the annotation is ignored`,
      `A1 metadata.annotations[${P}cors-max-age]: "-1" is not a whole number from 0 to 2147483647; the annotation is ignored`,
    ]);
  });

  test('an invalid portico.dev/ origin list with a valid nginx one: the valid list is used', () => {
    const { policy } = parse({ [`${P}enable-cors`]: 'true', 'portico.dev/cors-allow-origin': 'bad', [`${P}cors-allow-origin`]: 'https://a.example' });
    assert.deepEqual(policy?.origins, ['https://a.example']);
  });

  test('the cors-* names are honoured, so no longer reported as unsupported (A2)', () => {
    const names = ['enable-cors', 'cors-allow-origin', 'cors-allow-methods', 'cors-allow-headers', 'cors-expose-headers', 'cors-allow-credentials', 'cors-max-age'];
    assert.deepEqual(parse(Object.fromEntries(names.map((n) => [P + n, n === 'enable-cors' || n === 'cors-allow-credentials' ? 'true' : n === 'cors-max-age' ? '1' : n === 'cors-allow-origin' ? '*' : 'X']))).findings, []);
  });
});

const CORS: CorsPolicy = { origins: ['https://a.example', 'https://*.b.example:8443', 'null'], methods: 'GET,POST', headers: 'X-A', credentials: false, maxAgeSeconds: 600 };
/** The prefix route /api, with `cors` (null: without CORS). */
const withCors = (cors: CorsPolicy | null = CORS) => ({ ...prefix('/api'), policy: { redirectToHttps: false, ...(cors ? { cors } : {}) } });
const API = 'a.example/api/';
const corsModel = (cors: CorsPolicy | null = CORS): RoutingModel => model({ hostGroups: [group({ prefix: [withCors(cors)], exact: [], defaultBackend: undefined })] });
const lines = (m: RoutingModel): Record<string, string[]> =>
  Object.fromEntries([...renderMaps(m)].filter(([f]) => f.includes('cors')).map(([file, text]) => [file, text.split('\n').filter((l) => l !== '')]));

void describe('CORS render: map lines', () => {
  test("a route's lines: one per origin keyed id|origin, the header values keyed by id, credentials false written too", () => {
    const id = routeId(API);
    assert.deepEqual(lines(corsModel()), {
      'maps/cors-origins.map': [`${id}|https://a.example 1`, `${id}|https://*.b.example:8443 1`, `${id}|null 1`],
      'maps/cors-methods.map': [`${id} GET,POST`],
      'maps/cors-headers.map': [`${id} X-A`],
      'maps/cors-max-age.map': [`${id} 600`],
      'maps/cors-credentials.map': [`${id} false`],
    });
    assert.deepEqual(lines(corsModel({ ...CORS, origins: '*', exposeHeaders: '*,X-B', credentials: true }))['maps/cors-origins.map'], [`${id}|* 1`]);
    assert.deepEqual(lines(corsModel({ ...CORS, exposeHeaders: '*,X-B' }))['maps/cors-expose.map'], [`${id} *,X-B`]);
  });

  test('a route allowing no origin has no line and no id: CORS changes nothing it answers', () => {
    assert.deepEqual(corsData({ ...CORS, origins: [] }), []);
    assert.deepEqual(routeFeatures(withCors({ ...CORS, origins: [] })), []);
    assert.deepEqual(lines(corsModel({ ...CORS, origins: [] })), {});
  });

  test("a route's features are its maps, each once however many origins", () => {
    assert.deepEqual(routeFeatures(withCors()), ['corsOrigins', 'corsMethods', 'corsHeaders', 'corsMaxAge', 'corsCredentials']);
    assert.deepEqual(routeFeatures(withCors({ ...CORS, exposeHeaders: 'X' })), ['corsOrigins', 'corsMethods', 'corsHeaders', 'corsExpose', 'corsMaxAge', 'corsCredentials']);
  });

  test("render re-checks every value (fails closed): a value translate's grammar would refuse throws", () => {
    const bad: [Partial<CorsPolicy>, RegExp][] = [
      [{ origins: ['https://a.example/x'] }, /refusing CORS origin/],
      [{ origins: ['https://A.example'] }, /refusing CORS origin/],
      [{ origins: ['https://a.example b'] }, /refusing CORS origin/],
      [{ origins: ['https://a.*.example'] }, /refusing CORS origin/],
      [{ origins: ['**'] }, /refusing CORS origin/],
      [{ methods: 'GET, POST' }, /refusing CORS methods/],
      [{ methods: '' }, /refusing CORS methods/],
      [{ methods: 'GET\nPOST' }, /refusing CORS methods/],
      [{ headers: 'X-A #' }, /refusing CORS headers/],
      [{ headers: '*' }, /refusing CORS headers/],
      [{ exposeHeaders: 'X,' }, /refusing CORS expose headers/],
      [{ exposeHeaders: `X,${'A'.repeat(20_000)}` }, /refusing CORS expose headers/],
      [{ maxAgeSeconds: -1 }, /refusing CORS max age -1/],
      [{ maxAgeSeconds: 1.5 }, /refusing CORS max age 1.5/],
      [{ maxAgeSeconds: 2 ** 31 }, /refusing CORS max age/],
    ];
    for (const [over, message] of bad) assert.throws(() => corsData({ ...CORS, ...over }), message, JSON.stringify(over));
  });
});

void describe('CORS render: rules', () => {
  test('the request rules: any origin, then the Origin whole, then with one label as *; the 204 for OPTIONS', () => {
    const key = 'ID,concat(|,txn.cors_origin),lower';
    assert.deepEqual(corsRequestRules('O', 'HASID', 'ID'), [
      'http-request set-var(txn.cors_origin) str(*) if HASID { ID,concat(|*),map_str(O) -m found }',
      'http-request set-var(txn.cors_origin) req.fhdr(origin) if HASID !{ var(txn.cors_origin) -m found } { req.fhdr(origin) -m found }',
      `http-request set-var(txn.cors) ID if { var(txn.cors_origin) -m found } { ${key},map_str(O) -m found }`,
      `http-request set-var(txn.cors) ID if { var(txn.cors_origin) -m found } !{ var(txn.cors) -m found } { ${key},regsub(://[a-z0-9-]+\\.,://*.),map_str(O) -m found }`,
      'http-request return status 204 if METH_OPTIONS { var(txn.cors) -m found }',
    ]);
  });

  test('the response rules set (replace) each header for an allowed origin; expose only while some route has it', () => {
    const file = (m: string): string => m;
    const rules = corsResponseRules(file, true);
    assert.deepEqual(rules, [
      'http-after-response set-header Access-Control-Allow-Origin %[var(txn.cors_origin)] if { var(txn.cors) -m found }',
      'http-after-response set-header Access-Control-Allow-Credentials true if { var(txn.cors) -m found } { var(txn.cors),map_str(corsCredentials) -m str true }',
      'http-after-response set-header Access-Control-Allow-Methods %[var(txn.cors),map_str(corsMethods)] if { var(txn.cors) -m found }',
      'http-after-response set-header Access-Control-Allow-Headers %[var(txn.cors),map_str(corsHeaders)] if { var(txn.cors) -m found }',
      'http-after-response set-header Access-Control-Expose-Headers %[var(txn.cors),map_str(corsExpose)] if { var(txn.cors) -m found } { var(txn.cors),map_str(corsExpose) -m found }',
      'http-after-response set-header Access-Control-Max-Age %[var(txn.cors),map_str(corsMaxAge)] if { var(txn.cors) -m found }',
    ]);
    assert.deepEqual(corsResponseRules(file, false), rules.filter((r) => !r.includes('Expose')));
  });

  test('in the frontends: after routing and before the redirect annotations and T9; headers last; none without a CORS route', () => {
    const m = corsModel();
    const both = model({ hostGroups: [group({ prefix: [withCors(), { ...prefix('/r'), policy: { redirectToHttps: false, redirect: { code: 301, url: 'https://r.example/' } } }], exact: [], defaultBackend: undefined })] });
    for (const f of ['frontend portico_http', 'frontend portico_https']) {
      const l = sectionLines(renderConfig(both, OPTIONS), f);
      const at = (prefixText: string): number => l.findIndex((x) => x.startsWith(prefixText));
      const preflight = at('http-request return status 204');
      assert.ok(at('http-request return status 404') < at('http-request set-var(txn.cors_origin) str(*)'), f);
      assert.ok(preflight > 0 && preflight < at('http-request return status 301'), `${f}: the preflight before the redirect annotation`);
      if (f === 'frontend portico_http') assert.ok(preflight < at('http-request redirect location https://'), 'the preflight before T9');
      assert.ok(at('http-after-response set-header Access-Control-Allow-Origin') > at('http-after-response set-header Server'), f);
      assert.ok(l.every((x) => x.split(/\s+/).length <= 64), `${f}: HAProxy reads at most 64 words a line`);
      assert.equal(sectionLines(renderConfig(m, OPTIONS), f).filter((x) => x.includes('cors')).length, 10);
    }
    assert.doesNotMatch(renderConfig(model(), OPTIONS), /cors|Access-Control/i, 'a plain configuration has no CORS rule');
    assert.doesNotMatch(renderConfig(corsModel({ ...CORS, origins: [] }), OPTIONS), /cors|Access-Control/i, 'nor one whose CORS route allows no origin');
    assert.deepEqual([...featuresInUse(m)].sort(), Object.keys(CORS_MAPS).filter((k) => k !== 'corsExpose').sort());
  });
});

void describe('CORS in the runtime plan', () => {
  const id = routeId(API);
  test('a changed origin list is map operations on cors-origins.map, not a reload', () => {
    const after = corsModel({ ...CORS, origins: ['https://a.example', 'https://c.example'] });
    assert.deepEqual(opSummary(ops(reloadedWith(corsModel()), after).ops), [
      `map-add maps/cors-origins.map ${id}|https://c.example 1`,
      `map-del maps/cors-origins.map ${id}|https://*.b.example:8443`,
      `map-del maps/cors-origins.map ${id}|null`,
    ]);
  });

  test('changed header values, credentials turned on, and a list becoming *: map operations', () => {
    const after = corsModel({ ...CORS, origins: '*', methods: 'GET', credentials: true, maxAgeSeconds: 5 });
    assert.deepEqual(opSummary(ops(reloadedWith(corsModel()), after).ops), [
      `map-add maps/cors-origins.map ${id}|* 1`,
      `map-set maps/cors-methods.map ${id} GET`,
      `map-set maps/cors-max-age.map ${id} 5`,
      `map-set maps/cors-credentials.map ${id} true`,
      `map-del maps/cors-origins.map ${id}|https://a.example`,
      `map-del maps/cors-origins.map ${id}|https://*.b.example:8443`,
      `map-del maps/cors-origins.map ${id}|null`,
    ]);
  });

  test('CORS on a route while no route had it, or the first expose headers, takes a reload naming the map', () => {
    assert.deepEqual(plan(reloadedWith(corsModel(null)), corsModel(), DEFAULT_PEM), { reload: 'the frontend has no rule for corsOrigins yet' });
    assert.deepEqual(plan(reloadedWith(corsModel()), corsModel({ ...CORS, exposeHeaders: 'X' }), DEFAULT_PEM), { reload: 'the frontend has no rule for corsExpose yet' });
  });

  test('CORS removed from a route: the routing value loses its id first, then every line goes', () => {
    const removed = ops(reloadedWith(corsModel()), corsModel(null)).ops;
    const summary = opSummary(removed);
    assert.deepEqual(summary.slice(0, 2), [`map-set maps/paths.map a.example/api/ --|${BACKEND}`, `map-set maps/paths.map a.example/api? --|${BACKEND}`]);
    assert.equal(summary.length, 2 + 3 + 4);
    assert.ok(summary.slice(2).every((s) => s.startsWith('map-del maps/cors-')));
  });
});

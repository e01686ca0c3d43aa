// External authentication: the grammars (the nginx variables admitted and refused, hostile values), what a route's
// policy becomes (fail closed on a bad companion), its auth.map line and render's own re-checks, the rules, and plan:
// a changed auth URL is a map update, the first auth route a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authMethod, authResponseHeaders, authUrl, cacheDurations, cacheKey, externalAuthOf, requestRedirect, signinUrl } from '../../src/translate/annotations/auth-external.js';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { authRequestRules, authResponseRules, authValue, dialsSelf } from '../../src/haproxy/render/policy/auth-external.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, ops, reloadedWith, svc } from './plan-fixtures.js';

const parse = <T>(g: { parse(raw: string): { ok: true; value: T } | { ok: false; reason: string } }, raw: string): T | string => {
  const r = g.parse(raw);
  return r.ok ? r.value : `refused: ${r.reason}`;
};
const refused = (x: unknown): boolean => typeof x === 'string' && x.startsWith('refused');

describe('auth-url grammar', () => {
  test("the values of ingress-nginx's and oauth2-proxy's docs", () => {
    for (const url of ['https://$host/oauth2/auth', 'https://$host/oauth2/start?rd=$escaped_request_uri', 'http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth', '$scheme://$host/oauth2/auth', 'https://${host}/x?rd=${request_uri}', 'https://$http_host/auth', 'http://10.0.0.1:80/auth'])
      assert.equal(parse(authUrl, url), url);
  });

  test('other nginx variables, stray `$`, a variable as part of the host and hostile text are refused', () => {
    for (const url of [
      'http://a.test/$remote_port',
      'http://a.test/$args',
      'http://a.test/$',
      'http://a.test/${}',
      'http://$host$request_uri',
      'http://$hostname/x',
      'http://a.test/x;y',
      'http://a.test/x y',
      'http://a.test/x\n  lua-load /tmp/x',
      "http://a.test/%[src]'",
      'http://a.test/"x',
      'http://a.test/#x',
      'ftp://a.test/x',
      'http:///x',
      'http://:80/x',
      'http://a..test/x',
      'http://a.test:99999/x',
      'javascript://a.test/x',
    ])
      assert.ok(refused(parse(authUrl, url)), url);
    assert.match(String(parse(authUrl, 'http://a.test/$remote_port')), /\$remote_port/);
  });

  test('methods: what HAProxy 2.6 Lua can send, uppercase', () => {
    assert.equal(parse(authMethod, 'POST'), 'POST');
    for (const m of ['PATCH', 'OPTIONS', 'get', 'GET ', 'GET\n']) assert.ok(refused(parse(authMethod, m)), m);
    assert.match(String(parse(authMethod, 'PATCH')), /cannot send/);
  });

  test('response headers: lowercased, deduplicated; framing, Host and x-portico-* refused, with or without underscores', () => {
    assert.deepEqual(parse(authResponseHeaders, 'X-Auth-Request-User, X-Auth-Request-Email,x-auth-request-user'), ['x-auth-request-user', 'x-auth-request-email']);
    for (const h of ['Host', 'content-length', 'Transfer_Encoding', 'X-Portico-Internal-Error', 'a;b', 'a\nb', 'a b', ''])
      assert.ok(refused(parse(authResponseHeaders, h)), h);
    assert.ok(refused(parse(authResponseHeaders, Array.from({ length: 33 }, (_, i) => `h${i}`).join(','))));
  });

  test('cache key: letters, digits, - _ and the key variables only', () => {
    for (const k of ['$remote_user$http_authorization', '$cookie__oauth2_proxy', '${http_x_api_key}-$host']) assert.equal(parse(cacheKey, k), k);
    for (const k of ['$request_body', '$arg_x', 'a;b', 'a b', '$'] ) assert.ok(refused(parse(cacheKey, k)), k);
  });

  test("cache durations: proxy_cache_valid's forms; a duration alone is 200 301 302", () => {
    assert.deepEqual(parse(cacheDurations, '200 202 401 5m'), [{ statuses: [200, 202, 401], seconds: 300 }]);
    assert.deepEqual(parse(cacheDurations, '10m, 401 30s'), [{ statuses: [200, 301, 302], seconds: 600 }, { statuses: [401], seconds: 30 }]);
    assert.deepEqual(parse(cacheDurations, 'any 1h'), [{ statuses: [], seconds: 3600 }]);
    for (const d of ['200', '200 5x', '5m 200', '999 5m', 'abc', ' , ', '200 5m\n']) assert.ok(refused(parse(cacheDurations, d)), d);
  });

  test('auth-request-redirect takes no variable and nothing that could leave a header', () => {
    assert.equal(parse(requestRedirect, 'https://a.test/back?x=1'), 'https://a.test/back?x=1');
    for (const r of ['$request_uri', 'a b', 'a\r\nb', '%[src]']) assert.ok(refused(parse(requestRedirect, r)), r);
  });
});

describe('the route policy', () => {
  const policyOf = (a: Record<string, string>) => {
    const f = new Findings('Ingress default/x');
    const values = parseIngressAnnotations(Object.fromEntries(Object.entries(a).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])), f);
    return { policy: routePolicy(values, false, { sslRedirect: true, forceSslRedirect: false }), findings: f };
  };

  test("the signin URL gets rd (or the named parameter) unless it has it, as buildAuthSignURL", () => {
    assert.equal(signinUrl('https://$host/oauth2/start?rd=$escaped_request_uri', 'rd'), 'https://$host/oauth2/start?rd=$escaped_request_uri');
    assert.equal(signinUrl('https://l.test/start', 'rd'), 'https://l.test/start?rd=$scheme://$http_host$escaped_request_uri');
    assert.equal(signinUrl('https://l.test/start?a=1', 'to'), 'https://l.test/start?a=1&to=$scheme://$http_host$escaped_request_uri');
    assert.equal(signinUrl('https://l.test/start?rd=', 'rd'), 'https://l.test/start?rd=&rd=$scheme://$http_host$escaped_request_uri');
  });

  test('a bad auth-url, or a bad companion with auth-url, refuses the paths; a bad companion alone does nothing', () => {
    assert.equal(policyOf({ 'auth-url': 'http://a.test/$remote_port' }).policy.refuseAll, true);
    assert.equal(policyOf({ 'auth-url': 'http://a.test/', 'auth-cache-duration': 'soon' }).policy.refuseAll, true);
    assert.equal(policyOf({ 'auth-url': 'http://a.test/', 'auth-response-headers': 'Host' }).policy.refuseAll, true);
    const alone = policyOf({ 'auth-method': 'PATCH' }).policy;
    assert.equal(alone.refuseAll, undefined);
    assert.equal(alone.externalAuth, undefined);
    // A bad signin only loses the redirect (401 instead), as in ingress-nginx: nothing is opened by it.
    const p = policyOf({ 'auth-url': 'http://a.test/', 'auth-signin': 'http://x/$foo' }).policy;
    assert.deepEqual(p.externalAuth, { url: 'http://a.test/', responseHeaders: [], alwaysSetCookie: false });
  });

  test('externalAuthOf: defaults, cache durations only with a key', () => {
    assert.deepEqual(externalAuthOf({ authUrl: 'http://a.test/', authCacheKey: '$host' }).auth?.cacheDurations, [{ statuses: [200, 202, 401], seconds: 300 }]);
    assert.equal(externalAuthOf({ authUrl: 'http://a.test/', authCacheDurations: [{ statuses: [], seconds: 1 }] }).auth?.cacheDurations, undefined);
  });
});

describe('auth-snippet and the auth-keepalive annotations', () => {
  const parse = (a: Record<string, string>) => {
    const f = new Findings('Ingress default/x');
    const values = parseIngressAnnotations(Object.fromEntries(Object.entries(a).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])), f);
    return { policy: routePolicy(values, false, { sslRedirect: true, forceSslRedirect: false }), findings: f.list.map((d) => `${d.rule} ${d.field.replace(/.*\//, '').replace(']', '')}: ${d.message}`) };
  };
  const url = { 'auth-url': 'http://a.test/auth' };

  test("auth-snippet: proxy_set_header becomes a header of the auth request (last wins, names lowercased); the other directives are reported", () => {
    const r = parse({ ...url, 'auth-snippet': "proxy_set_header X-Api-Key k1;\nproxy_set_header X-Path $request_uri;\nmore_set_headers 'X-Seen: 1';\nproxy_set_header x-api-key k2;\nreturn 403;" });
    assert.deepEqual(r.policy.externalAuth?.requestHeaders, [['x-path', '${request_uri}'], ['x-api-key', 'k2']]);
    assert.deepEqual(r.findings.map((m) => m.replace(/:.*/, '')), ['A4 auth-snippet', 'A4 auth-snippet']);
    assert.match(r.findings[0]!, /line 3: more_set_headers: has no effect on the request to auth-url/);
    assert.match(r.findings[1]!, /line 5: return: has no effect/);
  });

  test('auth-snippet: hostile or untranslatable directives refuse it whole (A4); Host is refused; auth still applies', () => {
    for (const [snippet, why] of [
      ['proxy_set_header Host evil.test;', /Host is the host of auth-url/],
      ['proxy_set_header Content-Length 0;', /framing/],
      ['proxy_set_header X-A "a\r\nX-B: b";', /line break|control/],
      ['proxy_set_header X-A $upstream_addr;', /known only once the backend answered/],
      ['proxy_pass http://evil;', /not a directive Portico translates/],
      ['proxy_set_header X-A {a};', /./],
      [`proxy_set_header X-A "${'v'.repeat(2000)}";`, /longer than 1024/],
    ] as const) {
      const r = parse({ ...url, 'auth-snippet': snippet });
      assert.equal(r.policy.externalAuth?.url, 'http://a.test/auth', snippet);
      assert.equal(r.policy.externalAuth?.requestHeaders, undefined, snippet);
      assert.equal(r.findings.length, 1, snippet);
      assert.match(r.findings[0]!, /^A4 auth-snippet/, snippet);
      assert.match(r.findings[0]!, why, snippet);
    }
  });

  test("auth-keepalive, -requests, -timeout: strconv.Atoi's integers (negative and zero too), -share-vars a bool; no effect on the policy", () => {
    const plain = parse(url).policy.externalAuth;
    for (const [k, v] of <[string, string][]>[['auth-keepalive', '10'], ['auth-keepalive', '-1'], ['auth-keepalive-requests', '+100'], ['auth-keepalive-timeout', '0'], ['auth-keepalive-share-vars', 'True']]) {
      const r = parse({ ...url, [k]: v });
      assert.deepEqual(r.findings, [], `${k}: ${v}`);
      assert.deepEqual(r.policy.externalAuth, plain, `${k}: ${v}`);
    }
    for (const [k, v] of <[string, string][]>[['auth-keepalive', '10s'], ['auth-keepalive', '1.5'], ['auth-keepalive-requests', ' 5'], ['auth-keepalive-timeout', '99999999999'], ['auth-keepalive-share-vars', 'yes'], ['auth-keepalive', '1\n  lua-load /x']]) {
      const r = parse({ ...url, [k]: v });
      assert.equal(r.findings.length, 1, `${k}: ${JSON.stringify(v)}`);
      assert.match(r.findings[0]!, new RegExp(`^A1 ${k}: .*the annotation is ignored$`));
      assert.deepEqual(r.policy.externalAuth, plain);
    }
  });

  test('without auth-url, auth-snippet and the keep-alive annotations are reported as doing nothing', () => {
    const r = parse({ 'auth-snippet': 'proxy_set_header X-A 1;', 'auth-keepalive-timeout': '30' });
    assert.deepEqual(r.findings.map((m) => m.replace(/:.*/, '')), ['auth-ignored auth-snippet', 'auth-ignored auth-keepalive-timeout']);
    assert.equal(r.policy.externalAuth, undefined);
  });
});

describe('render', () => {
  const base = { url: 'https://$host/oauth2/auth', responseHeaders: ['x-auth-request-user'], alwaysSetCookie: false };

  test("auth-snippet's headers: a tenth field, name LF value pairs, percent-encoded; render refuses what translate refuses", () => {
    const line = authValue({ ...base, requestHeaders: [['x-api-key', 'a;b %'], ['x-path', '${request_uri}'], ['x-empty', '']] });
    assert.equal(line.split(';').length, 10);
    assert.equal(line.split(';')[9], 'x-api-key%0Aa%3Bb%20%25%0Ax-path%0A%24%7Brequest_uri%7D%0Ax-empty%0A');
    assert.equal(authValue(base).split(';').length, 9, 'no tenth field without headers');
    for (const h of [['host', 'x'], ['content-length', '1'], ['x-a', 'a\nb'], ['X-A', 'x'], ['x a', 'b']] as [string, string][]) assert.throws(() => authValue({ ...base, requestHeaders: [h] }), /refusing auth snippet header/, h[0]);
  });

  test('the map line: nine fields, each percent-encoded, no byte a map line or the runtime API could split on', () => {
    const line = authValue({ ...base, signin: 'https://$host/s?rd=$escaped_request_uri', cacheKey: '$http_authorization', cacheDurations: [{ statuses: [200, 202], seconds: 300 }, { statuses: [], seconds: 0.5 }] });
    assert.equal(line, 'https://%24host/oauth2/auth;;https://%24host/s%3Frd%3D%24escaped_request_uri;x-auth-request-user;;0;1;%24http_authorization;200.202:300/%2A:1');
    assert.match(line, /^[\x21-\x7e]+$/);
    assert.equal(line.split(';').length, 9);
  });

  test('dialling self only for a $host or $http_host host', () => {
    assert.equal(dialsSelf('https://$host/x'), true);
    assert.equal(dialsSelf('https://${http_host}/x'), true);
    assert.equal(dialsSelf('$scheme://$host/x'), true);
    assert.equal(dialsSelf('https://a.test/$host'), false);
    assert.equal(dialsSelf('https://$hostile/x'), false);
  });

  test("render's own checks throw on what translate never produces", () => {
    assert.throws(() => authValue({ ...base, url: 'https://a.test/x y' }), /refusing auth URL/);
    assert.throws(() => authValue({ ...base, method: 'PATCH' as 'GET' }), /refusing auth method/);
    assert.throws(() => authValue({ ...base, responseHeaders: ['x;y'] }), /refusing auth response header/);
    assert.throws(() => authValue({ ...base, cacheKey: '$a', cacheDurations: [{ statuses: [99], seconds: 1 }] }), /status/);
    assert.throws(() => authRequestRules('/m', 'h', 'r', false, { http: '127.0.0.1:80 lua-load /x', https: '127.0.0.1:443' }), /listener/);
  });

  test("rules: the action's `pass` is the only way on; everything else that set txn.auth is answered", () => {
    const rules = authRequestRules('/d/maps/auth.map', '{ HAS }', 'ID', true, { http: '127.0.0.1:80', https: '[::1]:443' });
    assert.ok(rules.includes('http-request lua.portico_auth https 127.0.0.1:80 [::1]:443 if { var(txn.auth) -m found }'));
    assert.match(rules.at(-1)!, /^http-request return status 500 .* if \{ var\(txn.auth\) -m found \} !\{ var\(txn.auth_verdict\) -m str pass \}$/);
    assert.equal(authResponseRules().length, 4);
  });
});

describe('plan', () => {
  const yaml = (url: string, withAuth = true) => `${svc('web', ['10.0.0.1'])}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  ${withAuth ? `annotations: {nginx.ingress.kubernetes.io/auth-url: "${url}"}` : ''}
spec:
  rules:
  - host: app.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`;

  test('a changed auth URL is one map update, no reload', () => {
    const state = reloadedWith(model(yaml('https://$host/oauth2/auth')));
    const r = ops(state, model(yaml('http://auth.test/check')));
    const maps = r.ops.filter((o) => o.op.startsWith('map-'));
    assert.equal(maps.length, 1, JSON.stringify(r.ops));
    assert.match(JSON.stringify(maps[0]), /auth\.map.*http:\/\/auth\.test\/check/);
  });

  test('the first route with auth-url takes a reload (the rules and the Lua are not loaded)', () => {
    const p = plan(reloadedWith(model(yaml('', false))), model(yaml('http://auth.test/check')), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /auth/);
  });
});

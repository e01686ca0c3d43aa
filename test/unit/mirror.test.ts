// Request mirroring: the mirror-target grammar (a written host, the variables admitted after it, hostile values), the
// route's policy (mirror-host's default, body on by default, nothing on a route that refuses every request), its
// mirror.map line and render's own re-checks, and plan: a changed target is a map update, the first mirror a reload.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mirrorTarget } from '../../src/translate/annotations/mirror.js';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { mirrorValue } from '../../src/haproxy/render/policy/mirror.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, ops, reloadedWith } from './plan-fixtures.js';

const parse = (raw: string): string => {
  const r = mirrorTarget.parse(raw);
  return r.ok ? r.value : `refused: ${r.reason}`;
};

describe('mirror-target grammar', () => {
  test("ingress-nginx's documented values, variables after the host, scheme and host lowercased", () => {
    for (const url of ['https://test.env.com$request_uri', 'https://1.2.3.4$request_uri', 'http://mirror.ns.svc.cluster.local:8080${request_uri}', 'http://m.test', 'http://m.test/', 'http://m.test/copy?u=$escaped_request_uri&h=$host&hh=$http_host&s=$scheme', 'http://m.test?x=1'])
      assert.equal(parse(url), url);
    assert.equal(parse('HTTPS://Test.ENV.com/A$request_uri'), 'https://test.env.com/A$request_uri');
  });

  test('a host a variable chooses, another variable right after the host, other variables and hostile text are refused', () => {
    for (const url of [
      'http://$host/x',
      'http://${host}/x',
      'http://m.test$host',
      'http://m.test$escaped_request_uri',
      'http://m.test$http_host/x',
      'http://m.test/$remote_addr',
      'http://m.test/$',
      'http://u@m.test/',
      'http://m.test:0/',
      'http://m.test:65536/',
      'http://[::1]:80/',
      'http://a..b/',
      'http://-a.test/',
      'ftp://m.test/',
      '$scheme://m.test/',
      'http:///x',
      'http://m.test/x;y',
      'http://m.test/x y',
      'http://m.test/x\n  lua-load /tmp/x',
      "http://m.test/%[src]'",
      'http://m.test/"x',
      'http://m.test/#x',
      `http://m.test/${'m'.repeat(2100)}`,
    ])
      assert.match(parse(url), /^refused/, url);
  });
});

describe("a route's mirror", () => {
  const policyOf = (annotations: Record<string, string>) => {
    const f = new Findings('Ingress default/app');
    const values = parseIngressAnnotations(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])), f);
    return { policy: routePolicy(values, false, { sslRedirect: true, forceSslRedirect: false }), findings: f.list };
  };

  test("mirror-host defaults to the target's host without its port; the body goes unless mirror-request-body is off", () => {
    assert.deepEqual(policyOf({ 'mirror-target': 'http://Shadow.test:8080$request_uri' }).policy.mirror, { url: 'http://shadow.test:8080$request_uri', host: 'shadow.test', body: true });
    assert.deepEqual(policyOf({ 'mirror-target': 'http://1.2.3.4/x', 'mirror-host': 'copy.test:81', 'mirror-request-body': ' OFF ' }).policy.mirror, { url: 'http://1.2.3.4/x', host: 'copy.test:81', body: false });
  });

  test('bad mirror-host and mirror-request-body values are reported (A1) and the defaults apply; companions alone do nothing', () => {
    const { policy, findings } = policyOf({ 'mirror-target': 'http://m.test/', 'mirror-host': 'a"b', 'mirror-request-body': 'no' });
    assert.deepEqual(policy.mirror, { url: 'http://m.test/', host: 'm.test', body: true });
    assert.deepEqual(findings.map((d) => `${d.rule} ${d.field}`).sort(), ['A1 metadata.annotations[nginx.ingress.kubernetes.io/mirror-host]', 'A1 metadata.annotations[nginx.ingress.kubernetes.io/mirror-request-body]']);
    assert.equal(policyOf({ 'mirror-host': 'copy.test', 'mirror-request-body': 'off' }).policy.mirror, undefined);
  });

  test('a bad target: A1, no mirror, the route otherwise as it was', () => {
    const { policy, findings } = policyOf({ 'mirror-target': 'http://$host/x' });
    assert.equal(policy.mirror, undefined);
    assert.equal(findings.length, 1);
    assert.match(findings[0]!.message, /a variable may not choose the host/);
  });

  test('a route that refuses every request (an access list failed closed) sends nothing to a mirror', () => {
    const { policy } = policyOf({ 'mirror-target': 'http://m.test/', 'whitelist-source-range': 'nope' });
    assert.equal(policy.refuseAll, true);
    assert.equal(policy.mirror, undefined);
  });
});

describe('mirror.map line', () => {
  test('body flag, URL and Host, each percent-encoded outside letters, digits and - . _ ~ / :, joined by ;', () => {
    assert.equal(mirrorValue({ url: 'http://m.test:81/c?u=$escaped_request_uri&s=$scheme', host: 'copy.test', body: false }), 'n;http://m.test:81/c%3Fu%3D%24escaped_request_uri%26s%3D%24scheme;copy.test');
    assert.equal(mirrorValue({ url: 'https://m.test$request_uri', host: 'm.test', body: true }), 'b;https://m.test%24request_uri;m.test');
  });

  test("render refuses what translate's grammars would not let through", () => {
    for (const m of [
      { url: 'http://m.test/x;y', host: 'm.test', body: true },
      { url: 'http://$host/x', host: 'm.test', body: true },
      { url: 'http://m.test/x\n', host: 'm.test', body: true },
      { url: 'http://u@m.test/', host: 'm.test', body: true },
      { url: 'http://m.test/', host: 'a b', body: true },
      { url: 'http://m.test/', host: 'm.test\n  lua-load /x', body: true },
      { url: `http://m.test/${'x'.repeat(2100)}`, host: 'm.test', body: true },
    ])
      assert.throws(() => mirrorValue(m), /render: refusing mirror/, JSON.stringify(m).slice(0, 80));
  });
});

describe('plan', () => {
  const yaml = (target: string | undefined): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  ${target === undefined ? '' : `annotations: {nginx.ingress.kubernetes.io/mirror-target: "${target}"}`}
spec:
  rules:
  - host: app.test
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
`;

  test('a changed target is one map update, no reload', () => {
    const r = ops(reloadedWith(model(yaml('http://m.test$request_uri'))), model(yaml('http://other.test/v2$request_uri')));
    const maps = r.ops.filter((o) => o.op.startsWith('map-'));
    assert.equal(maps.length, 1, JSON.stringify(r.ops));
    assert.match(JSON.stringify(maps[0]), /mirror\.map.*http:\/\/other\.test\/v2%24request_uri/);
  });

  test('the first mirrored route takes a reload (the rules and the Lua are not loaded)', () => {
    const p = plan(reloadedWith(model(yaml(undefined))), model(yaml('http://m.test/')), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /mirror/);
  });
});

// satisfy (any | all): the grammar, where translate sets RoutePolicy.satisfyAny (only on a route with a list and
// authentication), the rules render writes only while some route has it, and the runtime operations: switching is a
// map update once the rules exist, and a route's satisfy line goes in after its authentication's and out before it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import type { BasicAuth, RoutePolicy } from '../../src/model/types.js';
import { featuresInUse, renderConfig, routeId } from '../../src/haproxy/render/render.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';
import { OPTIONS, group, model as handModel, prefix } from './render-model.js';

const N = 'nginx.ingress.kubernetes.io/';
const BASIC: BasicAuth = { realm: 'r', secret: 'default/s', users: [['ann', '{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=']] };

function policyOf(annotations: Record<string, string>, basic?: BasicAuth | 'refuse'): { policy: RoutePolicy; warnings: string[] } {
  const f = new Findings('Ingress default/x');
  const policy = routePolicy(parseIngressAnnotations(annotations, f), false, { sslRedirect: false, forceSslRedirect: false }, undefined, basic);
  return { policy, warnings: f.list.map((d) => `${d.rule} ${d.field}: ${d.message}`) };
}

void describe('the satisfy annotation', () => {
  const listed = { [`${N}allowlist-source-range`]: '10.0.0.0/8' };

  test('any, with spaces around it, under either prefix; all and unset leave the route as it was', () => {
    assert.equal(policyOf({ ...listed, [`${N}satisfy`]: 'any' }, BASIC).policy.satisfyAny, true);
    assert.equal(policyOf({ ...listed, 'portico.dev/satisfy': '  any ' }, BASIC).policy.satisfyAny, true);
    assert.equal(policyOf({ ...listed, 'portico.dev/satisfy': 'all', [`${N}satisfy`]: 'any' }, BASIC).policy.satisfyAny, undefined, 'portico.dev/ wins');
    for (const a of [{ [`${N}satisfy`]: 'all' }, {}] as Record<string, string>[]) assert.deepEqual(policyOf({ ...listed, ...a }, BASIC).policy, policyOf(listed, BASIC).policy);
  });

  test('a value other than "any" or "all" (lowercase) is A1 and means all, the stricter', () => {
    for (const bad of ['Any', 'ALL', 'none', 'any,all', 'any\n', '1', 'true']) {
      const { policy, warnings } = policyOf({ ...listed, [`${N}satisfy`]: bad }, BASIC);
      assert.equal(policy.satisfyAny, undefined, JSON.stringify(bad));
      assert.deepEqual(warnings.map((w) => w.split(':')[0]), ['A1 metadata.annotations[nginx.ingress.kubernetes.io/satisfy]']);
    }
  });

  test('only a route with a list and authentication (basic or external) gets satisfyAny', () => {
    const any = { [`${N}satisfy`]: 'any' };
    assert.equal(policyOf({ ...listed, ...any }).policy.satisfyAny, undefined, 'a list only');
    assert.equal(policyOf({ ...any }, BASIC).policy.satisfyAny, undefined, 'authentication only');
    assert.equal(policyOf({ ...any }).policy.satisfyAny, undefined, 'neither: a plain route');
    assert.equal(policyOf({ [`${N}denylist-source-range`]: '10.0.0.0/8', [`${N}auth-url`]: 'http://auth.test/check', ...any }).policy.satisfyAny, true, 'a deny list and auth-url');
    assert.equal(policyOf({ ...listed, ...any }, 'refuse').policy.satisfyAny, undefined, 'a route refusing everyone (503) stays so');
    assert.equal(policyOf({ ...listed, [`${N}auth-url`]: 'ftp://x', ...any }).policy.refuseAll, true);
  });
});

void describe('satisfy in render', () => {
  const routeWith = (policy: RoutePolicy) => handModel({ hostGroups: [group({ exact: [], defaultBackend: undefined, prefix: [{ ...prefix('/'), policy }] })] });
  const listedBasic: RoutePolicy = { redirectToHttps: false, sourceRanges: { allow: ['10.0.0.0/8'], deny: [] }, basicAuth: BASIC, externalAuth: { url: 'http://auth.test/check', responseHeaders: [], alwaysSetCookie: false } };

  test('no route with satisfy any: the rules are exactly those of before, nothing reads txn.satisfy', () => {
    const config = renderConfig(routeWith(listedBasic), OPTIONS);
    assert.ok(!config.includes('satisfy'));
    assert.match(config, /http-request deny deny_status 403 .* if \{ var\(txn\.cell\) -m found \} \{ var\(txn\.route\)/);
  });

  test('with one: the 403 skips such a route, whose verdict is left in txn.satisfy, and authentication skips an allowed address', () => {
    const m = routeWith({ ...listedBasic, satisfyAny: true });
    assert.ok(featuresInUse(m).has('satisfyAny'));
    const lines = renderConfig(m, OPTIONS).split('\n').map((l) => l.trim());
    const at = (re: RegExp): number => {
      const i = lines.findIndex((l) => re.test(l));
      assert.ok(i >= 0, String(re));
      return i;
    };
    const any = at(/^http-request set-var\(txn\.satisfy\) str\(any\) if \{ var\(txn\.cell\) -m found \} .*satisfy-any\.map\) -m found \}$/);
    const forbidden = at(/^http-request deny deny_status 403 .* if \{ var\(txn\.cell\) -m found \} !\{ var\(txn\.satisfy\) -m found \} /);
    const refused = at(/^http-request set-var\(txn\.satisfy\) str\(refused\) if \{ var\(txn\.satisfy\) -m found \} /);
    const basic = at(/^http-request return status 401 .*!\{ var\(txn\.satisfy\) -m str any \}$/);
    const external = at(/^http-request set-var\(txn\.auth\) .* !\{ var\(txn\.satisfy\) -m str any \}$/);
    assert.ok(any < forbidden && forbidden < refused && refused < basic && basic < external);
    at(/^http-request set-var\(txn\.basic_auth_user\) http_auth_user,hex if \{ var\(txn\.basic_auth\) -m found \} !\{ var\(txn\.satisfy\) -m str any \}$/);
    assert.ok(lines.includes('http-request del-header Authorization if { var(txn.basic_auth) -m found }'), 'the credentials never reach the backend');
  });
});

void describe('satisfy at runtime', () => {
  const secret = `
apiVersion: v1
kind: Secret
metadata: {name: team}
type: Opaque
data: {auth: ${Buffer.from('ann:{SHA}2PRZAyDhNDqRW2OUFwZQqPNdaSY=\n').toString('base64')}}
---`;
  const ing = (name: string, path: string, annotations: string): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: {${annotations}}}
spec: {rules: [{host: a.test, http: {paths: [{path: ${path}, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;
  const list = `${N}allowlist-source-range: "10.0.0.0/8"`;
  const basic = `${N}auth-type: basic, ${N}auth-secret: team`;
  const web = svc('web', ['10.0.0.1']) + secret;
  const id = routeId('a.test/');

  test('the first route with satisfy any takes a reload (its rules); switching after that is a map update', () => {
    const all = model(web + ing('office', '/', `${list}, ${basic}`));
    const any = model(web + ing('office', '/', `${list}, ${basic}, ${N}satisfy: any`));
    const first = plan(reloadedWith(all), any, DEFAULT_PEM);
    assert.ok('reload' in first);
    assert.deepEqual(opSummary(ops(reloadedWith(any), all).ops), [`map-del maps/satisfy-any.map ${id}`]);
    const other = model(web + ing('office', '/', `${list}, ${basic}, ${N}satisfy: any`) + ing('lab', '/lab', `${list}, ${basic}`));
    assert.deepEqual(opSummary(ops(reloadedWith(other), model(web + ing('office', '/', `${list}, ${basic}, ${N}satisfy: any`) + ing('lab', '/lab', `${list}, ${basic}, ${N}satisfy: any`))).ops), [`map-add maps/satisfy-any.map ${routeId('a.test/lab/')} 1`]);
  });

  test("a route's satisfy line goes in after its users and out before them: it never lacks the authentication that replaces its 403", () => {
    const listed = model(web + ing('office', '/', `${list}, ${N}satisfy: any`) + ing('lab', '/lab', `${list}, ${basic}, ${N}satisfy: any`));
    const full = model(web + ing('office', '/', `${list}, ${basic}, ${N}satisfy: any`) + ing('lab', '/lab', `${list}, ${basic}, ${N}satisfy: any`));
    const up = opSummary(ops(reloadedWith(listed), full).ops).filter((o) => !o.includes('paths.map'));
    assert.deepEqual(up.map((o) => o.split(' ').slice(0, 2).join(' ')), ['map-add maps/auth-users.map', 'map-add maps/auth-challenges.map', 'map-add maps/satisfy-any.map']);
    const down = opSummary(ops(reloadedWith(full), listed).ops).filter((o) => !o.includes('paths.map'));
    assert.deepEqual(down.map((o) => o.split(' ').slice(0, 2).join(' ')), ['map-del maps/satisfy-any.map', 'map-del maps/auth-challenges.map', 'map-del maps/auth-users.map']);
  });
});

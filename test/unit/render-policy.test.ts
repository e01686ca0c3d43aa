// Route policies in render and plan (src/haproxy/render/policy/redirect.ts, the route ids and feature maps of
// render.ts, missingFeature in runtime/plan.ts): which routes get an id, the feature map lines keyed by it (group
// default backends and the catch-all included), the frontend rules only while some route uses the feature, render's
// own check of redirect data, and the runtime operations (or the reload) a change of policy takes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostGroup, RedirectCode, RouteTarget, RoutingModel } from '../../src/model/types.js';
import { featuresInUse, renderConfig, renderMaps, routeFeatures, routeId, routeValue } from '../../src/haproxy/render/render.js';
import { REDIRECT_CODES } from '../../src/haproxy/render/policy/redirect.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { BACKEND, OPTIONS, exact, group, model, prefix, sectionLines, target } from './render-model.js';
import { DEFAULT_PEM, opSummary, ops, reloadedWith } from './plan-fixtures.js';

const redirecting = <T extends RouteTarget>(t: T, code: RedirectCode, url: string): T => ({ ...t, policy: { ...t.policy, redirect: { code, url } } });
const maps = (m: RoutingModel): Record<string, string[]> => Object.fromEntries([...renderMaps(m)].map(([file, text]) => [file, text.split('\n').filter((l) => l !== '')]));
/** The redirect rules of each frontend (the HTTP frontend's; the HTTPS one must have the same). */
function returnRules(m: RoutingModel): string[] {
  const config = renderConfig(m, OPTIONS);
  const [http, https] = ['frontend portico_http', 'frontend portico_https'].map((f) => sectionLines(config, f).filter((l) => l.startsWith('http-request return status 3')));
  assert.deepEqual(https, http);
  return http!;
}
const ROUTING_MAPS = ['maps/defaults.map', 'maps/hosts.map', 'maps/paths.map', 'maps/wildcards.map'];

void describe('route ids and feature maps', () => {
  test("a route's id: p. and 16 hex digits of a hash of its routing key, stable and distinct", () => {
    assert.equal(routeId('r.example.com/old/'), 'p.1c615834eaf5777c', 'as in the annotations-redirects golden case');
    assert.equal(routeId(' default *catch-all*'), 'p.5a155872f421a828');
    assert.match(routeId(''), /^p\.[0-9a-f]{16}$/);
    assert.notEqual(routeId('a.example/x/'), routeId('a.example/x?'));
  });

  test('a plain route: no id in its value, no feature, and only the four routing maps', () => {
    assert.equal(routeValue(target()), `--|${BACKEND}`);
    assert.deepEqual(routeFeatures(target()), []);
    const plain = model();
    assert.deepEqual([...featuresInUse(plain)], []);
    assert.deepEqual([...featuresInUse(model({ catchAll: undefined }))], []);
    assert.deepEqual(Object.keys(maps(plain)).sort(), ROUTING_MAPS);
    assert.deepEqual(returnRules(plain), []);
  });

  test('redirect routes of every kind: prefix (both keys), exact, the group default backend and the catch-all', () => {
    const g = group({
      exact: [redirecting(exact('/exact'), 307, 'https://e.example/'), exact('/plain')],
      prefix: [redirecting(prefix('/api'), 301, 'https://p.example/a?b=c')],
      defaultBackend: redirecting(target(), 303, 'http://d.example/'),
    });
    const m = model({ hostGroups: [g], catchAll: redirecting(target(), 308, 'https://c.example/') });
    const [pid, eid, did, cid] = ['a.example/api/', 'a.example/exact?', ' default a.example', ' default *catch-all*'].map(routeId);
    assert.deepEqual(maps(m), {
      'maps/hosts.map': ['a.example a.example'],
      'maps/wildcards.map': [],
      'maps/paths.map': [`a.example/api/ --|${BACKEND}|${pid}`, `a.example/api? --|${BACKEND}|${pid}`, `a.example/exact? --|${BACKEND}|${eid}`, `a.example/plain? --|${BACKEND}`],
      'maps/defaults.map': [`a.example --|${BACKEND}|${did}`, `*catch-all* --|${BACKEND}|${cid}`],
      'maps/redirect-301.map': [`${pid} https://p.example/a?b=c`],
      'maps/redirect-303.map': [`${did} http://d.example/`],
      'maps/redirect-307.map': [`${eid} https://e.example/`],
      'maps/redirect-308.map': [`${cid} https://c.example/`],
    });
    assert.deepEqual([...featuresInUse(m)].sort(), ['redirect301', 'redirect303', 'redirect307', 'redirect308']);
    assert.deepEqual(
      returnRules(m).map((l) => /^http-request return status (\d+) hdr Location %\[var\(txn\.route\),field\(-1,\|\),map_str\(\/var\/run\/portico\/gen\/1\/maps\/redirect-(\d+)\.map\)\] if /.exec(l)?.slice(1)),
      [['301', '301'], ['303', '303'], ['307', '307'], ['308', '308']],
    );
  });

  test('an exact route and a prefix route on one path keep their own ids; the exact one takes the shared key', () => {
    const g = group({ exact: [redirecting(exact('/api'), 302, 'https://exact.example/')], prefix: [redirecting(prefix('/api'), 302, 'https://prefix.example/')], defaultBackend: undefined });
    const m = model({ hostGroups: [g], catchAll: undefined });
    const [pid, eid] = ['a.example/api/', 'a.example/api?'].map(routeId);
    assert.deepEqual(maps(m)['maps/paths.map'], [`a.example/api/ --|${BACKEND}|${pid}`, `a.example/api? --|${BACKEND}|${eid}`]);
    assert.deepEqual(maps(m)['maps/redirect-302.map'], [`${pid} https://prefix.example/`, `${eid} https://exact.example/`]);
  });

  test('a feature used only by a group default backend, or only by the catch-all, still has its rule and map', () => {
    const onDefault = model({ hostGroups: [group({ defaultBackend: redirecting(target(), 305, 'https://d.example/') })] });
    assert.deepEqual([...featuresInUse(onDefault)], ['redirect305']);
    assert.equal(returnRules(onDefault).length, 1);
    assert.match(returnRules(onDefault)[0]!, /^http-request return status 305 /);
    const onCatchAll = model({ catchAll: redirecting(target(), 300, 'https://c.example/') });
    assert.deepEqual([...featuresInUse(onCatchAll)], ['redirect300']);
    assert.deepEqual(Object.keys(maps(onCatchAll)).sort(), [...ROUTING_MAPS.slice(0, 3), 'maps/redirect-300.map', 'maps/wildcards.map']);
  });
});

void describe("render's own check of redirect data", () => {
  const withRedirect = (code: number, url: string): RoutingModel => model({ hostGroups: [group({ prefix: [redirecting(prefix('/api'), code as RedirectCode, url)] })] });

  test('every code from 300 to 308 renders; any other is refused', () => {
    for (const code of REDIRECT_CODES) assert.doesNotThrow(() => renderMaps(withRedirect(code, 'https://a.example/')));
    for (const code of [0, 200, 299, 309, 310, 400, 301.5]) assert.throws(() => renderMaps(withRedirect(code, 'https://a.example/')), { message: `render: refusing redirect code ${code}` });
  });

  test('a URL outside the redirect grammar is refused, even one every map word check would pass', () => {
    for (const url of ['x;https://a.example/', 'javascript:https://a.example/', 'https://a.example/"', 'https://a.example/%00', 'https://a.example/#f', 'https://a.example/\n', 'ftp://a.example/', 'https://'])
      assert.throws(() => renderMaps(withRedirect(301, url)), { message: `render: refusing redirect URL ${JSON.stringify(url)}` }, JSON.stringify(url));
  });
});

void describe('plan: route policies at runtime', () => {
  const withGroup = (over: Partial<HostGroup>, catchAll: RouteTarget | undefined = target()): RoutingModel => model({ hostGroups: [group(over)], catchAll });
  const API = 'a.example/api/';
  const reloadFor = (before: RoutingModel, after: RoutingModel): unknown => plan(reloadedWith(before), after, DEFAULT_PEM);

  test('a changed route that needs a rule the running configuration lacks takes a reload, naming the feature', () => {
    const before = withGroup({});
    assert.deepEqual(reloadFor(before, withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://n.example/')] })), { reload: 'the frontend has no rule for redirect301 yet' });
    assert.deepEqual(reloadFor(before, withGroup({ defaultBackend: redirecting(target(), 303, 'https://n.example/') })), { reload: 'the frontend has no rule for redirect303 yet' });
    assert.deepEqual(reloadFor(before, withGroup({}, redirecting(target(), 308, 'https://n.example/'))), { reload: 'the frontend has no rule for redirect308 yet' });
    const with301 = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://n.example/')] });
    assert.deepEqual(reloadFor(with301, withGroup({ prefix: [redirecting(prefix('/api'), 302, 'https://n.example/')] })), { reload: 'the frontend has no rule for redirect302 yet' });
  });

  test('a plain change under a configuration without feature rules needs none', () => {
    const before = withGroup({});
    const state = reloadedWith(before);
    assert.deepEqual([...state.layout.features], []);
    assert.deepEqual(opSummary(ops({ ...state, layout: { ...state.layout, features: new Set() } }, withGroup({ prefix: [prefix('/api'), prefix('/new')] })).ops), [
      `map-add maps/paths.map a.example/new/ --|${BACKEND}`,
      `map-add maps/paths.map a.example/new? --|${BACKEND}`,
    ]);
  });

  test('a changed URL is one map-set on the redirect map', () => {
    const before = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://old.example/')] });
    const after = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://new.example/')] });
    assert.deepEqual(opSummary(ops(reloadedWith(before), after).ops), [`map-set maps/redirect-301.map ${routeId(API)} https://new.example/`]);
  });

  test('a new redirect with a code in use: its data goes in before the routing value that points at it', () => {
    const before = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://a.example/')] });
    const after = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://a.example/')], defaultBackend: redirecting(target(), 301, 'https://d.example/') });
    const did = routeId(' default a.example');
    assert.deepEqual(opSummary(ops(reloadedWith(before), after).ops), [`map-add maps/redirect-301.map ${did} https://d.example/`, `map-set maps/defaults.map a.example --|${BACKEND}|${did}`]);
  });

  test('a redirect removed: the routing values lose the id first, then its data goes; the rule stays until the next reload', () => {
    const before = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://a.example/')] });
    const state = reloadedWith(before);
    const removed = ops(state, withGroup({}));
    assert.deepEqual(opSummary(removed.ops), [`map-set maps/paths.map a.example/api/ --|${BACKEND}`, `map-set maps/paths.map a.example/api? --|${BACKEND}`, `map-del maps/redirect-301.map ${routeId(API)}`]);
    assert.deepEqual([...removed.next.layout.features], ['redirect301']);
    assert.deepEqual(opSummary(ops(removed.next, before).ops), [`map-add maps/redirect-301.map ${routeId(API)} https://a.example/`, `map-set maps/paths.map a.example/api/ --|${BACKEND}|${routeId(API)}`, `map-set maps/paths.map a.example/api? --|${BACKEND}|${routeId(API)}`]);
  });

  test('a new code the configuration has a rule for: the URL moves between the two maps', () => {
    const catchAll = redirecting(target(), 302, 'https://c.example/');
    const before = withGroup({ prefix: [redirecting(prefix('/api'), 301, 'https://a.example/')] }, catchAll);
    const after = withGroup({ prefix: [redirecting(prefix('/api'), 302, 'https://a.example/')] }, catchAll);
    assert.deepEqual(opSummary(ops(reloadedWith(before), after).ops), [`map-add maps/redirect-302.map ${routeId(API)} https://a.example/`, `map-del maps/redirect-301.map ${routeId(API)}`]);
  });
});

void describe('the HTTPS redirect and preserve-trailing-slash', () => {
  const keeping = <T extends RouteTarget>(t: T): T => ({ ...t, policy: { redirectToHttps: true, preserveTrailingSlash: true } });
  const httpsRedirects = (m: RoutingModel): string[] => sectionLines(renderConfig(m, OPTIONS), 'frontend portico_http').filter((l) => l.startsWith('http-request redirect location https://'));

  test("a redirecting route's flag says whether it keeps the slash; the rule that keeps it exists only while some route does", () => {
    const plain = model({ hostGroups: [group({ prefix: [{ ...prefix('/a'), policy: { redirectToHttps: true } }] })] });
    assert.deepEqual(routeFeatures(plain.hostGroups[0]!.prefix[0]!), []);
    assert.deepEqual(httpsRedirects(plain).map((l) => l.match(/%\[(capture[^\]]*)\].* -m beg (\w) /)!.slice(1)), [['capture.req.uri,regsub(/$,)', 'r']]);
    const kept = model({ hostGroups: [group({ prefix: [keeping(prefix('/a'))] })] });
    assert.equal(routeValue(kept.hostGroups[0]!.prefix[0]!), `R-|${BACKEND}`);
    assert.deepEqual(routeFeatures(kept.hostGroups[0]!.prefix[0]!), ['keepTrailingSlash']);
    assert.deepEqual(httpsRedirects(kept).map((l) => l.match(/%\[(capture[^\]]*)\].* -m beg (\w) /)!.slice(1)), [['capture.req.uri,regsub(/$,)', 'r'], ['capture.req.uri', 'R']]);
    // No redirect, no flag: preserve-trailing-slash alone changes nothing.
    assert.equal(routeValue({ ...prefix('/a'), policy: { redirectToHttps: false, preserveTrailingSlash: true } }), `--|${BACKEND}`);
  });

  test('the first route that keeps the slash needs the rule: a reload; later ones are map updates', () => {
    const before = model({ hostGroups: [group({ prefix: [{ ...prefix('/a'), policy: { redirectToHttps: true } }] })] });
    const after = model({ hostGroups: [group({ prefix: [keeping(prefix('/a'))] })] });
    const p = plan(reloadedWith(before), after, DEFAULT_PEM);
    assert.ok('reload' in p && /keepTrailingSlash/.test(p.reload));
    assert.ok(!('reload' in plan(reloadedWith(after), before, DEFAULT_PEM)));
  });
});

// The access lists (allowlist-source-range, denylist-source-range): the annotations failing closed, render's address
// arithmetic (canonical blocks, nesting), the cells and flips every route's verdict is read from, and the runtime
// operations a changed list takes. The e2e test shows which client gets 403; these pin the map lines that decide it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { blocksInside, byPosition, ipBlock } from '../../src/haproxy/render/policy/ip-blocks.js';
import { accessLines } from '../../src/haproxy/render/policy/source-ranges.js';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import type { RoutePolicy } from '../../src/model/types.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { routeId } from '../../src/haproxy/render/render.js';

const N = 'nginx.ingress.kubernetes.io/';
const policyOf = (annotations: Record<string, string>): { policy: RoutePolicy; warnings: string[] } => {
  const f = new Findings('Ingress default/x');
  const policy = routePolicy(parseIngressAnnotations(annotations, f), false, { sslRedirect: false, forceSslRedirect: false });
  return { policy, warnings: f.list.map((d) => `${d.rule} ${d.field}: ${d.message}`) };
};

void describe('the access annotations', () => {
  test('allow and deny lists become the route policy; allowlist-source-range wins over its older name', () => {
    assert.deepEqual(policyOf({ [`${N}allowlist-source-range`]: '10.0.0.0/8', [`${N}whitelist-source-range`]: '192.168.0.0/16' }).policy.sourceRanges, { allow: ['10.0.0.0/8'], deny: [] });
    assert.deepEqual(policyOf({ [`${N}whitelist-source-range`]: '192.168.0.1' }).policy.sourceRanges, { allow: ['192.168.0.1/32'], deny: [] });
    assert.deepEqual(policyOf({ [`${N}denylist-source-range`]: '::1, 10.0.0.0/8' }).policy.sourceRanges, { allow: [], deny: ['::1/128', '10.0.0.0/8'] });
    assert.equal(policyOf({}).policy.sourceRanges, undefined);
  });

  test('a bad list fails closed: A1 says so and the route refuses everyone, even beside a good list', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/8 #', '10.0.0.0/8\nserver x', 'fe80::1%eth0', '10.0.0.0/8,', 'all']) {
      const { policy, warnings } = policyOf({ [`${N}allowlist-source-range`]: bad, [`${N}denylist-source-range`]: '10.1.0.0/16' });
      assert.equal(policy.refuseAll, true, JSON.stringify(bad));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /^A1 metadata\.annotations\[nginx\.ingress\.kubernetes\.io\/allowlist-source-range\]: .* every request to this Ingress's paths gets 503 until the value is fixed/);
    }
    const other = policyOf({ [`${N}proxy-read-timeout`]: 'soon' });
    assert.equal(other.policy.refuseAll, undefined, 'an annotation that does not fail closed is ignored');
    assert.match(other.warnings[0]!, /the annotation is ignored$/);
  });
});

void describe('address blocks', () => {
  test('canonical text: host bits cleared, IPv6 as RFC 5952 writes it', () => {
    assert.equal(ipBlock('10.0.0.1/8').text, '10.0.0.0/8');
    assert.equal(ipBlock('0.0.0.0/0').text, '0.0.0.0/0');
    assert.equal(ipBlock('192.168.1.7/32').text, '192.168.1.7/32');
    assert.equal(ipBlock('2001:DB8::1/32').text, '2001:db8::/32');
    assert.equal(ipBlock('2001:db8:0:0:1:0:0:1/128').text, '2001:db8::1:0:0:1/128', 'the first of two equal zero runs');
    assert.equal(ipBlock('2001:db8:0:1:1:1:1:1/128').text, '2001:db8:0:1:1:1:1:1/128', 'a single zero group stays');
    assert.equal(ipBlock('::/0').text, '::/0');
    assert.equal(ipBlock('::1/128').text, '::1/128');
    assert.equal(ipBlock('::ffff:10.1.2.3/128').text, '::ffff:a01:203/128');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', 'x/8', '10.0.0.0/8 ', '1.2.3.4/08x', '']) assert.throws(() => ipBlock(bad), /^Error: render: refusing address block /, bad);
  });

  test('blocksInside finds exactly the blocks a block holds (checked against arithmetic on random blocks)', () => {
    const block = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 24 })).map(([a, b, bits]) => ipBlock(`10.${a}.${b}.0/${bits}`));
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 30 }), (blocks) => {
        const sorted = [...new Map(blocks.map((b) => [b.text, b])).values()].sort(byPosition);
        for (const outer of sorted) {
          const expected = sorted.filter((b) => b.first >= outer.first && b.last <= outer.last).map((b) => b.text);
          assert.deepEqual(blocksInside(sorted, outer).map((b) => b.text), expected);
        }
      }),
    );
    const mixed = ['10.0.0.0/8', '::/0', '10.1.0.0/16'].map(ipBlock).sort(byPosition);
    assert.deepEqual(blocksInside(mixed, ipBlock('::/0')).map((b) => b.text), ['::/0'], 'IPv4 blocks are not inside ::/0');
  });
});

void describe('cells and flips', () => {
  const route = (id: string, allow: string[], deny: string[] = []) => ({ id, policy: { redirectToHttps: false, sourceRanges: { allow, deny } } });

  test("each route's verdict per cell is its narrowest own block's, deny first; other routes' narrower cells inherit it", () => {
    const lines = accessLines([route('p.a', ['10.0.0.0/8', '192.168.1.7/32']), route('p.b', ['10.1.0.0/16'], ['10.1.2.0/24']), route('p.c', [], ['10.0.0.1/8'])]);
    assert.deepEqual(lines, [
      ['accessCells', '10.0.0.0/8', '10.0.0.0/8'],
      ['accessCells', '10.1.0.0/16', '10.1.0.0/16'],
      ['accessCells', '10.1.2.0/24', '10.1.2.0/24'],
      ['accessCells', '192.168.1.7/32', '192.168.1.7/32'],
      ['accessFlips', 'p.a|10.0.0.0/8', '1'],
      ['accessFlips', 'p.a|10.1.0.0/16', '1'],
      ['accessFlips', 'p.a|10.1.2.0/24', '1'],
      ['accessFlips', 'p.a|192.168.1.7/32', '1'],
      ['accessFlips', 'p.b|10.1.0.0/16', '1'],
      ['accessFlips', 'p.c|10.0.0.0/8', '1'],
      ['accessFlips', 'p.c|10.1.0.0/16', '1'],
      ['accessFlips', 'p.c|10.1.2.0/24', '1'],
    ]);
  });

  test('the verdict the maps give equals the lists read directly, for random lists and addresses', () => {
    const cidr = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(8, 16, 24, 30, 32)).map(([a, b, bits]) => `10.${a}.${b}.${a * 4}/${bits}`);
    const routeArb = fc.record({ allow: fc.array(cidr, { maxLength: 3 }), deny: fc.array(cidr, { maxLength: 3 }) }).filter((r) => r.allow.length + r.deny.length > 0);
    const address = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 15 })).map(([a, b, c]) => `10.${a}.${b}.${c}`);
    fc.assert(
      fc.property(fc.array(routeArb, { minLength: 1, maxLength: 4 }), fc.array(address, { minLength: 1, maxLength: 10 }), (lists, addresses) => {
        const routes = lists.map((l, i) => route(`p.${i}`, l.allow, l.deny));
        const lines = accessLines(routes);
        const cells = lines.filter(([m]) => m === 'accessCells').map(([, k]) => ipBlock(k));
        const flips = new Set(lines.filter(([m]) => m === 'accessFlips').map(([, k]) => k));
        const within = (ip: string, c: string): boolean => {
          const b = ipBlock(c);
          const v = ipBlock(`${ip}/32`).first;
          return v >= b.first && v <= b.last;
        };
        for (const ip of addresses) {
          // What HAProxy's map_ip does: the longest listed block holding the address.
          const v = ipBlock(`${ip}/32`).first;
          const cell = cells.filter((c) => v >= c.first && v <= c.last).sort((x, y) => (x.last - x.first < y.last - y.first ? -1 : 1))[0];
          routes.forEach((r, i) => {
            const { allow, deny } = r.policy.sourceRanges;
            const expected = deny.some((c) => within(ip, c)) ? 'deny' : allow.length === 0 || allow.some((c) => within(ip, c)) ? 'allow' : 'deny';
            const flipped = cell !== undefined && flips.has(`${r.id}|${cell.text}`);
            const got = allow.length > 0 ? (flipped ? 'allow' : 'deny') : flipped ? 'deny' : 'allow';
            assert.equal(got, expected, `route ${i} ${JSON.stringify(lists[i])}, client ${ip}`);
          });
        }
      }),
    );
  });
});

void describe('access lists at runtime', () => {
  const ing = (allow: string, name = 'office', path = '/'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: {${N}allowlist-source-range: "${allow}"}}
spec: {rules: [{host: a.test, http: {paths: [{path: ${path}, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;
  const web = svc('web', ['10.0.0.1']);

  test("a changed list is map operations: new cells and flips before the route's default, old ones after", () => {
    const office = routeId('a.test/');
    const lab = routeId('a.test/lab/');
    const state = reloadedWith(model(web + ing('10.0.0.0/8')));
    const next = model(web + ing('10.1.0.0/16, 10.0.0.0/8', 'office') + ing('192.168.0.0/16', 'lab', '/lab'));
    assert.deepEqual(opSummary(ops(state, next).ops), [
      'map-add maps/access-cells.map 10.1.0.0/16 10.1.0.0/16',
      'map-add maps/access-cells.map 192.168.0.0/16 192.168.0.0/16',
      `map-add maps/access-flips.map ${office}|10.1.0.0/16 1`,
      `map-add maps/access-flips.map ${lab}|192.168.0.0/16 1`,
      `map-add maps/access-routes.map ${lab} a`,
      `map-add maps/paths.map a.test/lab/ --|be_default_web_80|${lab}`,
      `map-add maps/paths.map a.test/lab? --|be_default_web_80|${lab}`,
    ]);
    const back = plan(ops(state, next).next, model(web + ing('10.0.0.0/8')), DEFAULT_PEM);
    assert.ok(!('reload' in back));
    assert.deepEqual(opSummary(back.ops), [
      'map-del maps/paths.map a.test/lab/',
      'map-del maps/paths.map a.test/lab?',
      `map-del maps/access-routes.map ${lab}`,
      `map-del maps/access-flips.map ${office}|10.1.0.0/16`,
      `map-del maps/access-flips.map ${lab}|192.168.0.0/16`,
      'map-del maps/access-cells.map 10.1.0.0/16',
      'map-del maps/access-cells.map 192.168.0.0/16',
    ]);
  });

  test('a change to a route without a list leaves the shared lines alone; a later change to a listed route is diffed against them', () => {
    const plainRoute = (path: string): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain}
spec: {rules: [{host: b.test, http: {paths: [{path: ${path}, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;
    const state = reloadedWith(model(web + ing('10.0.0.0/8') + plainRoute('/a')));
    const step = ops(state, model(web + ing('10.0.0.0/8') + plainRoute('/b')));
    assert.deepEqual(opSummary(step.ops).filter((o) => o.includes('access')), []);
    const office = routeId('a.test/');
    assert.deepEqual(opSummary(ops(step.next, model(web + ing('10.1.0.0/16') + plainRoute('/b'))).ops), [
      'map-add maps/access-cells.map 10.1.0.0/16 10.1.0.0/16',
      `map-add maps/access-flips.map ${office}|10.1.0.0/16 1`,
      `map-del maps/access-flips.map ${office}|10.0.0.0/8`,
      'map-del maps/access-cells.map 10.0.0.0/8',
    ]);
  });

  test('the first list of all needs the rules: a reload', () => {
    const state = reloadedWith(model(web + ing('10.0.0.0/8').replace(/annotations: \{[^}]*\}/, 'annotations: {}')));
    const p = plan(state, model(web + ing('10.0.0.0/8')), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /^the frontend has no rule for access/);
  });
});

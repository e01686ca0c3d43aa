// Regular-expression paths (use-regex, rewrite-target): the grammar that decides which expressions reach HAProxy's
// PCRE2 (one it refused would fail the whole configuration), the location order of a regex host, and the runtime
// swap of the ordered map. haproxy-accepts.property.test.ts checks with the real `haproxy -c` that what passes compiles.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { literalRegex, pathRegexProblem } from '../../src/translate/path-regex.js';
import { regexPathKey } from '../../src/haproxy/render/render.js';
import { DEFAULT_PEM, model, opSummary, reloadedWith, svc } from './plan-fixtures.js';
import { plan } from '../../src/haproxy/runtime/plan.js';

void describe('the regex path grammar', () => {
  test('accepts what ingress-nginx users write', () => {
    for (const ok of ['/', '/api(/|$)(.*)', '/v[0-9]+/items', '/foo/[^/]+/bar', '/(?:a|b)/c', '/x{2,3}', '/x{2,}', '/a\\.b', '/.*', '/a$', '/(a|b$)', '/[a-z-]+', '/\\d+', '/a+?', '/(a|b)+', '/[.*+?$(){}|]', '/a:b&c=d~e_f'])
      assert.equal(pathRegexProblem(ok), undefined, ok);
  });

  test('refuses what PCRE2 would refuse, what would break a map line, and what can take exponential time, saying why', () => {
    const cases: [string, RegExp][] = [
      ['/(a+)+', /repeated group that itself repeats/],
      ['/((a|b)*c)*', /repeated group that itself repeats/],
      ['/(a{2,})+', /repeated group that itself repeats/],
      ['/x y', /" " where a character/],
      ['/a#', /"#"/],
      ["/a'b", /"'"/],
      ['/a"b', /"\\""/],
      ['/(', /"\(" without its "\)"/],
      ['/a)', /"\)" without its "\("/],
      ['/[abc', /"\[" without its "\]"/],
      ['/[]', /"\]" in a character class/],
      ['/a{2', /"\{" that is not a repeat count/],
      ['/a{3,2}', /bounds reversed/],
      ['/a{1001}', /outside 0-1000/],
      ['/a**', /repeat of a repeat/],
      ['/^a', /"\^" outside a character class/],
      ['/(?=x)', /"\(\?" other than/],
      ['/(?i)x', /"\(\?" other than/],
      ['/\\1', /"\\1" is not an escape/],
      ['/a$b', /"\$" only at the end/],
      ['/\u00e9', /where a character/],
      ['/a\nb', /where a character/],
      ['a', /must start with "\/"/],
      [`/${'a'.repeat(1024)}`, /the limit is 1024/],
      [`/${'('.repeat(11)}a${')'.repeat(11)}`, /nested more than 10 deep/],
    ];
    for (const [bad, why] of cases) assert.match(pathRegexProblem(bad) ?? 'accepted', why, JSON.stringify(bad));
  });

  test('class ranges: only from one plain character, bounds in order (PCRE2 refuses the others)', () => {
    for (const ok of ['/[--/]', '/[-a]', '/[a-]', '/[^-a]', '/[a-c]', '/[0-9a-f]']) assert.equal(pathRegexProblem(ok), undefined, ok);
    for (const bad of ['/[/--]', '/[z-a]', '/[\\d-z]', '/[\\.-a]', '/[a-c-e]']) assert.match(pathRegexProblem(bad) ?? '', /range|"-" after/, bad);
  });

  test('whatever it accepts is a regular expression (checked on random strings of its alphabet)', () => {
    const alphabet = [...'/ab.-_~:&=^$[](){}*+?|\\dw0,2'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 16 }).map((cs) => `/${cs.join('')}`), (p) => {
        if (pathRegexProblem(p) !== undefined) return;
        assert.doesNotThrow(() => new RegExp(`^(?:${p})`), p);
        assert.doesNotMatch(p, /[\s#'"]/);
      }),
      { numRuns: 3000 },
    );
  });

  test('a literal path as an expression matches exactly that text', () => {
    for (const p of ['/a.b', '/x(1)', '/$v', '/a+b*c?', '/[x]{1}|y\\z^']) {
      const re = new RegExp(`^${literalRegex(p)}$`);
      assert.ok(re.test(p), p);
      assert.ok(!re.test(p.replace(/[^/]/, 'Q')), p);
    }
  });

  test("the map key: the group key as literal text, then the expression, case-insensitive and anchored as a whole", () => {
    assert.equal(regexPathKey('r.example.com', '/a|/b'), '^r\\.example\\.com(?i)(?:/a|/b)');
    assert.equal(regexPathKey('*.w.test', '/x'), '^\\*\\.w\\.test(?i)(?:/x)');
    assert.throws(() => regexPathKey('r.example.com', '/a b'), /refusing regex path/);
  });
});

void describe('regex hosts at runtime', () => {
  const ing = (name: string, path: string): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: {nginx.ingress.kubernetes.io/use-regex: "true"}}
spec: {rules: [{host: r.test, http: {paths: [{path: "${path}", pathType: ImplementationSpecific, backend: {service: {name: web, port: {number: 80}}}}]}}]}
---`;
  const web = svc('web', ['10.0.0.1']);

  test('a new path swaps the whole ordered map (add map would append it last), with no reload', () => {
    const state = reloadedWith(model(web + ing('a', '/api/.*') + ing('b', '/a')));
    const p = plan(state, model(web + ing('a', '/api/.*') + ing('b', '/a') + ing('c', '/ap')), DEFAULT_PEM);
    assert.ok(!('reload' in p));
    assert.deepEqual(opSummary(p.ops), ['map-replace maps/paths-regex.map']);
    const swap = p.ops[0]!;
    assert.ok(swap.op === 'map-replace');
    assert.deepEqual(swap.content.split('\n').filter((l) => l !== ''), [
      '^r\\.test(?i)(?:/api/.*) --|be_default_web_80',
      '^r\\.test(?i)(?:/ap) --|be_default_web_80',
      '^r\\.test(?i)(?:/a) --|be_default_web_80',
    ]);
  });

  test('the first regex host needs the rule: a reload', () => {
    const state = reloadedWith(model(web));
    const p = plan(state, model(web + ing('a', '/api/.*')), DEFAULT_PEM);
    assert.ok('reload' in p);
    assert.match(p.reload, /regexPaths/);
  });
});

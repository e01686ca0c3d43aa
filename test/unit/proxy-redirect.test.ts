// proxy-redirect-from/-to, proxy-cookie-domain, proxy-cookie-path, use-port-in-redirects and relative-redirects: what
// each grammar accepts (ingress-nginx's alphabets, nginx's parameter counts, Portico's regex grammar), when a route gets
// a rewrite at all (ingress-nginx's template: from and to both set, neither off/default), and the map line render
// writes for it (the Lua action that reads it is tested end to end, test/e2e/annotations-proxy-redirect.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { proxyRewriteValue } from '../../src/haproxy/render/policy/proxy-redirect.js';
import type { ProxyRewrite } from '../../src/model/types.js';

const N = 'nginx.ingress.kubernetes.io/';

/** The route's rewrites and the findings, for annotations given without prefix. */
function rewriteOf(annotations: Record<string, string>): { rewrite: ProxyRewrite | undefined; findings: string[] } {
  const f = new Findings('Ingress default/x');
  const values = parseIngressAnnotations(Object.fromEntries(Object.entries(annotations).map(([k, v]) => [N + k, v])), f);
  return { rewrite: routePolicy(values, false, { sslRedirect: false, forceSslRedirect: false }).proxyRewrite, findings: f.list.map((d) => `${d.rule} ${d.message}`) };
}

void describe('proxy-redirect-from / proxy-redirect-to', () => {
  test('both set: a prefix rewrite, spaces around the words dropped', () => {
    assert.deepEqual(rewriteOf({ 'proxy-redirect-from': ' http://b.internal:8080/ ', 'proxy-redirect-to': '/app/' }), {
      rewrite: { redirect: { kind: 'prefix', from: 'http://b.internal:8080/', to: '/app/' } },
      findings: [],
    });
  });

  test('ingress-nginx writes no proxy_redirect rewrite unless both are set and neither is off (or from is default)', () => {
    for (const a of <Record<string, string>[]>[
      { 'proxy-redirect-from': 'http://b/' },
      { 'proxy-redirect-to': '/x/' },
      { 'proxy-redirect-from': 'off', 'proxy-redirect-to': '/x/' },
      { 'proxy-redirect-from': 'default', 'proxy-redirect-to': '/x/' },
      { 'proxy-redirect-from': 'http://b/', 'proxy-redirect-to': 'off' },
    ]) {
      const r = rewriteOf(a);
      assert.deepEqual(r, { rewrite: undefined, findings: [] }, JSON.stringify(a));
    }
  });

  test('"~expression" is a regular expression (case-sensitive) that must pass the regex grammar', () => {
    assert.deepEqual(rewriteOf({ 'proxy-redirect-from': '~b.internal.?:80', 'proxy-redirect-to': 'https://a.test/' }).rewrite, { redirect: { kind: 'regex', from: 'b.internal.?:80', to: 'https://a.test/' } });
    for (const bad of ['~', '~a???', '~?a', '~a,b']) {
      const r = rewriteOf({ 'proxy-redirect-from': bad, 'proxy-redirect-to': '/x' });
      assert.equal(r.rewrite, undefined, bad);
      assert.equal(r.findings.length, 1, bad);
      assert.match(r.findings[0]!, /^A1 /, bad);
    }
  });

  test('outside ingress-nginx\'s alphabet, several words, or too long: A1, and no rewrite', () => {
    for (const [from, to] of [
      ['http://a/ http://b/', '/x'],
      ['http://a/', '/$host/'],
      ['http://a/', '/a;b'],
      ['http://a/', '/a#b'],
      ['http://a/', "/a'b"],
      ['http://a/', '/a\nb'],
      ['http://a/', '/a\tb'],
      ['~*a', '/x'],
      ['http://a/', `/${'x'.repeat(512)}`],
      ['http://a/', 'x'.repeat(1 << 20)],
    ] as const) {
      const r = rewriteOf({ 'proxy-redirect-from': from, 'proxy-redirect-to': to });
      assert.equal(r.rewrite, undefined, `${from} ${to}`);
      assert.equal(r.findings.length, 1, `${from} ${to}`);
      assert.match(r.findings[0]!, /^A1 .*; the annotation is ignored$/, `${from} ${to}`);
    }
  });

  test('relative-redirects and use-port-in-redirects ride on a redirect rewrite only', () => {
    assert.deepEqual(rewriteOf({ 'proxy-redirect-from': 'http://b/', 'proxy-redirect-to': '/', 'relative-redirects': 'true', 'use-port-in-redirects': 'True' }).rewrite, {
      redirect: { kind: 'prefix', from: 'http://b/', to: '/' },
      relativeRedirects: true,
      portInRedirects: true,
    });
    assert.deepEqual(rewriteOf({ 'relative-redirects': 'true', 'use-port-in-redirects': 'true' }), { rewrite: undefined, findings: [] });
    assert.deepEqual(rewriteOf({ 'proxy-cookie-path': '/ /app/', 'use-port-in-redirects': 'true' }).rewrite, { cookiePath: { kind: 'prefix', from: '/', to: '/app/' } });
    assert.match(rewriteOf({ 'relative-redirects': 'yes' }).findings[0]!, /^A1 "yes" is not "true" or "false"/);
  });
});

void describe('proxy-cookie-domain', () => {
  test('two words: a whole domain, its leading dot dropped on both sides as nginx does', () => {
    assert.deepEqual(rewriteOf({ 'proxy-cookie-domain': '.B.Internal .a.test' }).rewrite, { cookieDomain: { kind: 'domain', from: 'B.Internal', to: 'a.test' } });
    assert.deepEqual(rewriteOf({ 'proxy-cookie-domain': '~internal a.test' }).rewrite, { cookieDomain: { kind: 'regexCaseless', from: 'internal', to: 'a.test' } });
    assert.deepEqual(rewriteOf({ 'proxy-cookie-domain': 'off' }), { rewrite: undefined, findings: [] });
  });

  test("ingress-nginx's cookieDomainRegex: off or exactly two words of its characters; no empty domain", () => {
    for (const bad of ['a.test', 'a b c', ' a b', 'a\tb', 'a;b c', 'a b?', 'a=b c', '. x', 'x .', 'a\nb', 'OFF']) {
      const r = rewriteOf({ 'proxy-cookie-domain': bad });
      assert.equal(r.rewrite, undefined, JSON.stringify(bad));
      assert.match(r.findings[0] ?? '', /^A1 /, JSON.stringify(bad));
    }
  });
});

void describe('proxy-cookie-path', () => {
  test('off, or a prefix (or ~expression) and its replacement', () => {
    assert.deepEqual(rewriteOf({ 'proxy-cookie-path': ' /one/  / ' }).rewrite, { cookiePath: { kind: 'prefix', from: '/one/', to: '/' } });
    assert.deepEqual(rewriteOf({ 'proxy-cookie-path': '~/a.?/ /b/' }).rewrite, { cookiePath: { kind: 'regex', from: '/a.?/', to: '/b/' } });
    for (const bad of ['/a', '/a /b /c', '/a "/b"', '/a /b;', '~(a+)+ /', '/a /b\n  http-response del-header x']) {
      const r = rewriteOf({ 'proxy-cookie-path': bad });
      assert.equal(r.rewrite, undefined, JSON.stringify(bad));
      assert.match(r.findings[0] ?? '', /^A1 /, JSON.stringify(bad));
    }
  });

  test('a valid portico.dev/ value wins; a bad one falls back to the nginx.ingress.kubernetes.io/ value', () => {
    const f = new Findings('Ingress default/x');
    const values = parseIngressAnnotations({ 'portico.dev/proxy-cookie-path': '/a /b /c', [`${N}proxy-cookie-path`]: '/a /b' }, f);
    assert.deepEqual(routePolicy(values, false, { sslRedirect: false, forceSslRedirect: false }).proxyRewrite, { cookiePath: { kind: 'prefix', from: '/a', to: '/b' } });
    assert.equal(f.list.length, 1);
    assert.equal(f.list[0]!.field, 'metadata.annotations[portico.dev/proxy-cookie-path]');
  });
});

void describe('the map line', () => {
  test('flags (L: a redirect rewrite, C: a cookie rewrite, then relative-redirects and the port), then the redirect, cookie domain and cookie path rewrites as kind|from|to', () => {
    assert.equal(
      proxyRewriteValue({
        redirect: { kind: 'prefix', from: 'http://b:8080/', to: '/app/' },
        cookieDomain: { kind: 'domain', from: 'b.internal', to: 'a.test' },
        cookiePath: { kind: 'regex', from: '/a.?', to: '/' },
        relativeRedirects: true,
        portInRedirects: true,
      }),
      'LCrp;p|http://b:8080/|/app/;d|b.internal|a.test;r|/a.?|/',
    );
    assert.equal(proxyRewriteValue({ cookieDomain: { kind: 'regexCaseless', from: 'internal', to: 'a.test' } }), '-C;;i|internal|a.test;');
    assert.equal(proxyRewriteValue({ redirect: { kind: 'prefix', from: '/a/', to: '/' }, portInRedirects: true }), 'L-p;p|/a/|/;;');
  });

  test('a value translate would never let through makes render refuse, never write it', () => {
    for (const bad of ['a;b', 'a|b', 'a b', 'a\nb', '', 'x'.repeat(513), 'a#b', '$host']) {
      assert.throws(() => proxyRewriteValue({ cookiePath: { kind: 'prefix', from: bad, to: '/' } }), /render: refusing/, JSON.stringify(bad));
      assert.throws(() => proxyRewriteValue({ redirect: { kind: 'prefix', from: '/', to: bad } }), /render: refusing/, JSON.stringify(bad));
    }
  });
});

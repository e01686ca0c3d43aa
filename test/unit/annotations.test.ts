// The annotation registry and its value grammars (src/translate/annotations/): what each grammar accepts, matched to
// ingress-nginx's validators where they are safe; which key wins when both prefixes are set; and rules A1-A3, the
// findings a user sees for a bad value, an ingress-nginx annotation Portico does not support, and a key that never
// existed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ANNOTATIONS, parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { INGRESS_NGINX_ANNOTATIONS } from '../../src/translate/annotations/ingress-nginx-names.js';
import { closestName } from '../../src/translate/annotations/registry.js';
import { bool, cidrList, duration, headerName, headerValue, httpUrl, integer, oneOf, size } from '../../src/translate/annotations/values.js';
import type { Parsed, ValueGrammar } from '../../src/translate/annotations/values.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { translate } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';

const value = <T>(p: Parsed<T>): T | undefined => (p.ok ? p.value : undefined);
const accepts = <T>(g: ValueGrammar<T>, raw: string): boolean => g.parse(raw).ok;

void describe('value grammars', () => {
  test('bool is Go strconv.ParseBool: ingress-nginx reads "True" and "1" as true', () => {
    for (const t of ['true', 'True', 'TRUE', 't', 'T', '1']) assert.equal(value(bool.parse(t)), true, t);
    for (const f of ['false', 'False', 'FALSE', 'f', 'F', '0']) assert.equal(value(bool.parse(f)), false, f);
    for (const bad of ['yes', 'no', 'on', ' true', 'true ', 'tRUE', '', 'true\n']) assert.equal(accepts(bool, bad), false, JSON.stringify(bad));
  });

  test('integer: an optional sign and digits, within the range', () => {
    const g = integer(0, 100);
    assert.equal(value(g.parse('42')), 42);
    assert.equal(value(g.parse('+7')), 7);
    assert.equal(value(g.parse('007')), 7);
    for (const bad of ['-1', '101', '1.5', '1e2', ' 5', '0x10', '', '5s']) assert.equal(accepts(g, bad), false, bad);
  });

  test('size: nginx sizes in bytes, units in either case, capped', () => {
    const g = size(8 * 1024 ** 3);
    assert.equal(value(g.parse('1000')), 1000);
    assert.equal(value(g.parse('8k')), 8192);
    assert.equal(value(g.parse('1M')), 1024 ** 2);
    assert.equal(value(g.parse('2g')), 2 * 1024 ** 3);
    assert.equal(value(g.parse('0')), 0);
    for (const bad of ['9g', '1.5m', '1 m', 'm', '1mb', '-1', '']) assert.equal(accepts(g, bad), false, bad);
  });

  test('duration: Go durations in milliseconds', () => {
    const g = duration(24 * 3_600_000);
    assert.equal(value(g.parse('500ms')), 500);
    assert.equal(value(g.parse('30s')), 30_000);
    assert.equal(value(g.parse('1h30m')), 5_400_000);
    assert.equal(value(g.parse('1.5s')), 1500);
    assert.equal(value(g.parse('0')), 0);
    for (const bad of ['30', 's', '1d', '25h', '-1s', '1 s', '']) assert.equal(accepts(g, bad), false, bad);
  });

  test('oneOf: a word from the list, case and surrounding space ignored as ingress-nginx does', () => {
    const g = oneOf(['http', 'https', 'grpc']);
    assert.equal(value(g.parse(' GRPC ')), 'grpc');
    assert.equal(accepts(g, 'h2c'), false);
  });

  test('cidrList: addresses and blocks of both families, made canonical; anything else refused whole', () => {
    assert.deepEqual(value(cidrList.parse('10.0.0.0/8, 192.168.1.1,2001:db8::/32')), ['10.0.0.0/8', '192.168.1.1/32', '2001:db8::/32']);
    for (const bad of ['10.0.0.0/33', '10.0.0.0/8/1', 'example.com', '10.0.0.0/8,', '::1/129', '10.0.0.1 10.0.0.2', ''])
      assert.equal(accepts(cidrList, bad), false, bad);
  });

  test('headerName and headerValue: tokens, and visible text without line breaks', () => {
    assert.equal(value(headerName.parse('X-Custom-Header')), 'x-custom-header');
    for (const bad of ['X Header', 'X:Y', '', 'Ä']) assert.equal(accepts(headerName, bad), false, bad);
    assert.equal(value(headerValue.parse('max-age=60, public')), 'max-age=60, public');
    for (const bad of ['a\r\nSet-Cookie: x', ' leading', 'trailing ', '', 'nul\0', 'ünicode']) assert.equal(accepts(headerValue, bad), false, JSON.stringify(bad));
  });

  test('httpUrl: absolute http(s) URLs only, returned canonical', () => {
    assert.equal(value(httpUrl.parse('https://auth.example.com/oauth2/auth?rd=1')), 'https://auth.example.com/oauth2/auth?rd=1');
    for (const bad of ['/relative', 'ftp://x.example', 'https://', 'https://a b', 'javascript:alert(1)', 'https://x.example/\n']) assert.equal(accepts(httpUrl, bad), false, bad);
  });

  test('no grammar lets a line break, a NUL or a quote-free comment start through (hostile strings)', () => {
    const grammars: ValueGrammar<unknown>[] = [bool, integer(0, 1e9), size(1e12), duration(1e9), oneOf(['a']), cidrList, headerName, headerValue, httpUrl];
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        for (const g of grammars) {
          const p = g.parse(s);
          if (!p.ok) continue;
          const text = JSON.stringify(p.value);
          assert.doesNotMatch(text, /\\[nr]|\\u0000/, `${g.describe} accepted ${JSON.stringify(s)}`);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

void describe('the annotation registry', () => {
  const parse = (annotations: Record<string, string>): { values: ReturnType<typeof parseIngressAnnotations>; findings: [string, string, string][] } => {
    const f = new Findings('Ingress default/site');
    const values = parseIngressAnnotations(annotations, f);
    return { values, findings: f.list.map((d) => [d.level, d.field, d.rule]) };
  };

  test('every registered annotation is an ingress-nginx name, listed once', () => {
    const names = ANNOTATIONS.map((a) => a.name);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(names.filter((n) => !INGRESS_NGINX_ANNOTATIONS.has(n)), [], 'registered names are real ingress-nginx names');
  });

  test('nginx.ingress.kubernetes.io/ is read; portico.dev/ wins when both are set', () => {
    assert.deepEqual(parse({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }), { values: { sslRedirect: false }, findings: [] });
    assert.deepEqual(parse({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false', 'portico.dev/ssl-redirect': 'true' }).values, { sslRedirect: true });
  });

  test('an empty value is unset, as in ingress-nginx', () => {
    assert.deepEqual(parse({ 'nginx.ingress.kubernetes.io/force-ssl-redirect': '' }), { values: {}, findings: [] });
  });

  test('A1: a value that fails its grammar is reported and skipped; the other prefix still counts', () => {
    assert.deepEqual(parse({ 'portico.dev/ssl-redirect': 'no', 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }), {
      values: { sslRedirect: false },
      findings: [['warning', 'metadata.annotations[portico.dev/ssl-redirect]', 'A1']],
    });
    const hostile = parse({ 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true\n  http-request deny' });
    assert.deepEqual(hostile, { values: {}, findings: [['warning', 'metadata.annotations[nginx.ingress.kubernetes.io/force-ssl-redirect]', 'A1']] });
  });

  test('A2: an ingress-nginx annotation Portico does not support yet is named, not silently ignored', () => {
    assert.deepEqual(parse({ 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }).findings, [['warning', 'metadata.annotations[nginx.ingress.kubernetes.io/rewrite-target]', 'A2']]);
  });

  test('A3: a key ingress-nginx never had gets a warning with the name that was meant', () => {
    const f = new Findings('Ingress default/site');
    parseIngressAnnotations(
      { 'nginx.ingress.kubernetes.io/client-max-body-size': '10m', 'nginx.ingress.kubernetes.io/ssl-redirct': 'false', 'portico.dev/whatever': 'x', 'example.com/other': 'x', 'kubernetes.io/ingress.class': 'portico' },
      f,
    );
    assert.deepEqual(
      f.list.map((d) => [d.field, d.rule]),
      [
        ['metadata.annotations[nginx.ingress.kubernetes.io/client-max-body-size]', 'A3'],
        ['metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirct]', 'A3'],
        ['metadata.annotations[portico.dev/whatever]', 'A3'],
      ],
    );
    assert.match(f.list[0]!.message, /did you mean "nginx\.ingress\.kubernetes\.io\/proxy-body-size"\?/);
    assert.match(f.list[1]!.message, /did you mean "nginx\.ingress\.kubernetes\.io\/ssl-redirect"\?/);
    assert.doesNotMatch(f.list[2]!.message, /did you mean/);
  });

  test('closestName: typos within one edit per four characters, nothing for unrelated words', () => {
    assert.equal(closestName('proxy-body-sise', new Set()), 'proxy-body-size');
    assert.equal(closestName('enable-corss', new Set()), 'enable-cors');
    assert.equal(closestName('banana', new Set()), undefined);
  });
});

void describe('annotations through translate', () => {
  const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };
  const site = (annotations: Record<string, string>): Record<string, unknown> => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'site', namespace: 'default', annotations },
    spec: { tls: [{ hosts: ['site.example.com'] }], rules: [{ host: 'site.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  });
  const redirect = (annotations: Record<string, string>): boolean | undefined => translate({ ...emptySnapshot(), ingresses: [site(annotations)] }, OPTIONS).model.hostGroups[0]?.prefix[0]?.policy.redirectToHttps;

  test('ssl-redirect in the forms ParseBool reads turns rule T9 off for that Ingress', () => {
    assert.equal(redirect({}), true);
    assert.equal(redirect({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'False' }), false);
    assert.equal(redirect({ 'nginx.ingress.kubernetes.io/ssl-redirect': '0' }), false);
    assert.equal(redirect({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'off' }), true, 'an invalid value leaves the default');
  });

  test('findings of an Ingress another controller owns stay quiet (rule C8)', () => {
    const other = { ...site({ 'nginx.ingress.kubernetes.io/nonsense': 'x' }), spec: { ingressClassName: 'nginx', rules: [] } };
    assert.deepEqual(translate({ ...emptySnapshot(), ingresses: [other] }, OPTIONS).diagnostics, []);
  });
});

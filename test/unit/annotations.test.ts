// The annotation registry and its value grammars (src/translate/annotations/): what each grammar accepts, matched to
// ingress-nginx's validators where they are safe; which key wins when both prefixes are set; and rules A1-A3, the
// findings a user sees for a bad value, an ingress-nginx annotation Portico does not support, and a key that never
// existed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ANNOTATIONS, parseIngressAnnotations, routePolicy } from '../../src/translate/annotations/index.js';
import { annotationsDoc } from '../../src/translate/annotations/docs.js';
import { INGRESS_NGINX_ANNOTATIONS, MISNOMERS } from '../../src/translate/annotations/ingress-nginx-names.js';
import { annotation, closestName, parseAnnotations } from '../../src/translate/annotations/registry.js';
import type { Annotation } from '../../src/translate/annotations/registry.js';
import { bool, cidrList, duration, headerName, headerNameList, headerNameOrStarList, headerValue, httpUrl, integer, methodList, oneOf, originList, size } from '../../src/translate/annotations/values.js';
import type { Parsed, ValueGrammar } from '../../src/translate/annotations/values.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { translate } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';

// A2's example: every ingress-nginx annotation is read now, so A2 (kept for a registry that lacks one) is shown with a
// registry without mirror-target, through the same parser.
const NOT_HONOURED = 'mirror-target';
const WITHOUT_ONE = ANNOTATIONS.filter((a) => a.name !== NOT_HONOURED);
/** The findings of `annotations` read with the registry missing NOT_HONOURED. */
function a2FindingsOf(annotations: Record<string, string>): [level: string, field: string, rule: string, message: string][] {
  const f = new Findings('Ingress default/site');
  parseAnnotations(annotations, WITHOUT_ONE, f);
  return f.list.map((d) => [d.level, d.field, d.rule, d.message]);
}

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
    const grammars: ValueGrammar<unknown>[] = [bool, integer(0, 1e9), size(1e12), duration(1e9), oneOf(['a']), cidrList, headerName, headerValue, httpUrl, methodList, headerNameList, headerNameOrStarList, originList];
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

  test('A2: an ingress-nginx annotation the registry does not read is named, not silently ignored', () => {
    assert.deepEqual(a2FindingsOf({ [`nginx.ingress.kubernetes.io/${NOT_HONOURED}`]: 'x' }).map((d) => d.slice(0, 3)), [['warning', `metadata.annotations[nginx.ingress.kubernetes.io/${NOT_HONOURED}]`, 'A2']]);
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

/** The findings of one Ingress's annotations, in full. */
function findingsOf(annotations: Record<string, string>): [level: string, field: string, rule: string, message: string][] {
  const f = new Findings('Ingress default/site');
  parseIngressAnnotations(annotations, f);
  return f.list.map((d) => [d.level, d.field, d.rule, d.message]);
}
const NOT_YET = 'Portico does not support this ingress-nginx annotation yet: it has no effect (docs/annotations.md)';

void describe('findings A1-A3: what the user reads', () => {
  test('A1 names the value and what was expected', () => {
    assert.deepEqual(findingsOf({ 'portico.dev/ssl-redirect': 'no' }), [['warning', 'metadata.annotations[portico.dev/ssl-redirect]', 'A1', '"no" is not "true" or "false"; the annotation is ignored']]);
    assert.deepEqual(findingsOf({ 'nginx.ingress.kubernetes.io/permanent-redirect': 'https:///landing' }), [
      ['warning', 'metadata.annotations[nginx.ingress.kubernetes.io/permanent-redirect]', 'A1', '"https:///landing" has no host; the annotation is ignored'],
    ]);
  });

  test('A2 says the ingress-nginx annotation has no effect yet', () => {
    assert.deepEqual(a2FindingsOf({ [`nginx.ingress.kubernetes.io/${NOT_HONOURED}`]: 'x' }), [['warning', `metadata.annotations[nginx.ingress.kubernetes.io/${NOT_HONOURED}]`, 'A2', NOT_YET]]);
  });

  test('A2 also for an ingress-nginx name under portico.dev/ (it would mean the same), with no hint naming itself', () => {
    assert.deepEqual(a2FindingsOf({ [`portico.dev/${NOT_HONOURED}`]: 'x' }), [['warning', `metadata.annotations[portico.dev/${NOT_HONOURED}]`, 'A2', NOT_YET]]);
  });

  test('a typo hint allows one edit per four characters of the name (at least one, at most three)', () => {
    assert.equal(closestName('cana', new Set()), undefined, 'two edits from canary: too many for four characters');
    assert.equal(closestName('canar', new Set()), 'canary');
  });

  test('A3 says which prefix the key is unknown under, and the name meant when there is one', () => {
    assert.deepEqual(findingsOf({ 'nginx.ingress.kubernetes.io/ssl-redirct': 'false', 'nginx.ingress.kubernetes.io/banana': 'x', 'portico.dev/whatever': 'x' }), [
      ['warning', 'metadata.annotations[nginx.ingress.kubernetes.io/banana]', 'A3', '"nginx.ingress.kubernetes.io/banana" is not an annotation ingress-nginx or Portico knows: it has no effect'],
      [
        'warning',
        'metadata.annotations[nginx.ingress.kubernetes.io/ssl-redirct]',
        'A3',
        '"nginx.ingress.kubernetes.io/ssl-redirct" is not an annotation ingress-nginx or Portico knows: it has no effect; did you mean "nginx.ingress.kubernetes.io/ssl-redirect"?',
      ],
      ['warning', 'metadata.annotations[portico.dev/whatever]', 'A3', '"portico.dev/whatever" is not an annotation Portico knows: it has no effect'],
    ]);
  });
});

void describe("ingress-nginx's annotation names", () => {
  const honoured = new Set(ANNOTATIONS.map((a) => a.name));

  test('every name in the list is an annotation name, and one Portico does not honour yet gets A2, not A3', () => {
    assert.ok(INGRESS_NGINX_ANNOTATIONS.size > 100);
    for (const name of INGRESS_NGINX_ANNOTATIONS) {
      assert.match(name, /^[a-z0-9]+(-[a-z0-9]+)*$/, JSON.stringify(name));
      if (honoured.has(name)) continue;
      const key = `nginx.ingress.kubernetes.io/${name}`;
      assert.deepEqual(findingsOf({ [key]: 'x' }), [['warning', `metadata.annotations[${key}]`, 'A2', NOT_YET]], key);
    }
  });

  test("names from ingress-nginx's annotations documentation are known (A2), aliases included", () => {
    const documented = [
      'affinity', 'app-root', 'auth-tls-secret', 'auth-url', 'backend-protocol', 'canary-by-header', 'canary-weight', 'configuration-snippet',
      'cors-allow-origin', 'custom-http-errors', 'default-backend', 'enable-cors', 'limit-connections', 'limit-rps', 'limit-whitelist',
      'load-balance', 'mirror-target', 'proxy-body-size', 'proxy-buffering', 'proxy-read-timeout', 'rewrite-target', 'satisfy', 'server-snippet',
      'service-upstream', 'session-cookie-name', 'ssl-passthrough', 'upstream-hash-by', 'upstream-vhost', 'use-regex', 'whitelist-source-range',
      'x-forwarded-prefix',
    ];
    const honoured = new Set(ANNOTATIONS.map((x) => x.name));
    for (const name of documented) {
      const rule = findingsOf({ [`nginx.ingress.kubernetes.io/${name}`]: 'x' })[0]?.[2];
      // An honoured one reads the value ("x" is seldom valid: A1, or the snippets' A4; a valid canary-* without canary:
      // canary-disabled); any other is named as not honoured yet.
      const refusal = ANNOTATIONS.find((x) => x.name === name)?.rule;
      if (honoured.has(name)) assert.ok(rule === undefined || rule === refusal || (name.startsWith('canary-') && rule === 'canary-disabled'), `${name}: ${rule}`);
      else assert.equal(rule, 'A2', name);
    }
  });

  test('a misnomer is no ingress-nginx name, and its hint is one', () => {
    for (const [wrong, meant] of Object.entries(MISNOMERS)) {
      assert.equal(INGRESS_NGINX_ANNOTATIONS.has(wrong), false, wrong);
      assert.equal(INGRESS_NGINX_ANNOTATIONS.has(meant), true, `${wrong} -> ${JSON.stringify(meant)}`);
      const key = `nginx.ingress.kubernetes.io/${wrong}`;
      assert.deepEqual(findingsOf({ [key]: 'x' }), [
        ['warning', `metadata.annotations[${key}]`, 'A3', `"${key}" is not an annotation ingress-nginx or Portico knows: it has no effect; did you mean "nginx.ingress.kubernetes.io/${meant}"?`],
      ]);
    }
  });

  test('misnomers people write get the annotation that does what they meant', () => {
    const meant = {
      'client-max-body-size': 'proxy-body-size',
      'max-body-size': 'proxy-body-size',
      'rate-limit': 'limit-rps',
      rewrite: 'rewrite-target',
      'redirect-to-https': 'force-ssl-redirect',
      'cors-origin': 'cors-allow-origin',
      'read-timeout': 'proxy-read-timeout',
      'connect-timeout': 'proxy-connect-timeout',
      'sticky-session': 'affinity',
      'ip-whitelist': 'allowlist-source-range',
    };
    for (const [wrong, name] of Object.entries(meant)) assert.equal(closestName(wrong, new Set()), name, wrong);
  });
});

void describe('closestName at its limits', () => {
  test('three edits in a name of twelve characters or more are a typo; a fourth is another word', () => {
    assert.equal(closestName('prxy-bdy-sze', new Set()), 'proxy-body-size', '12 characters, 3 deletions');
    assert.equal(closestName('proxy-cnnct-tmeout', new Set()), 'proxy-connect-timeout', '18 characters, 3 deletions');
    assert.equal(closestName('pxy-bdy-sze', new Set()), undefined, '4 deletions');
    assert.equal(closestName('prxy-cnnct-tmeout', new Set()), undefined, 'never more than three, however long the name');
  });

  test('one edit in a short name; none for an unrelated or empty one', () => {
    assert.equal(closestName('canarx', new Set()), 'canary', 'the last character differs');
    assert.equal(closestName('xanary', new Set()), 'canary', 'the first character differs');
    assert.equal(closestName('satisfyy', new Set()), 'satisfy');
    assert.equal(closestName('abc', new Set()), undefined);
    assert.equal(closestName('', new Set()), undefined);
  });

  test('the names passed in are candidates too', () => {
    assert.equal(closestName('portico-fetaure', new Set(['portico-feature'])), 'portico-feature');
  });
});

void describe('redirect annotations: the code and the route policy, as ingress-nginx reads them', () => {
  const policyOf = (annotations: Record<string, string>, tlsHost = false, global = true): ReturnType<typeof routePolicy> =>
    routePolicy(parseIngressAnnotations(annotations, new Findings('Ingress default/site')), tlsHost, { sslRedirect: global, forceSslRedirect: false });
  const N = 'nginx.ingress.kubernetes.io/';

  test('permanent-redirect-code: 300 to 308, else 301; temporal-redirect-code: 300 to 307, else 302', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: 290, max: 320 })), (code) => {
        const p = policyOf({ [`${N}permanent-redirect`]: 'https://p.example/', [`${N}permanent-redirect-code`]: String(code) });
        assert.deepEqual(p.redirect, { code: code >= 300 && code <= 308 ? code : 301, url: 'https://p.example/' });
        const t = policyOf({ [`${N}temporal-redirect`]: 'https://t.example/', [`${N}temporal-redirect-code`]: String(code) });
        assert.deepEqual(t.redirect, { code: code >= 300 && code <= 307 ? code : 302, url: 'https://t.example/' });
      }),
      { examples: [[299], [300], [307], [308], [309], [0]] },
    );
  });

  test('without a code, the default; a code without its URL does nothing', () => {
    assert.deepEqual(policyOf({ [`${N}permanent-redirect`]: 'https://p.example/' }).redirect, { code: 301, url: 'https://p.example/' });
    assert.deepEqual(policyOf({ [`${N}temporal-redirect`]: 'https://t.example/' }).redirect, { code: 302, url: 'https://t.example/' });
    assert.deepStrictEqual(policyOf({ [`${N}permanent-redirect-code`]: '308' }), { redirectToHttps: false }, 'a policy without a redirect has no redirect field');
  });

  test('rule T9: force-ssl-redirect even without TLS; else a TLS host, unless ssl-redirect (else the global setting) says no', () => {
    assert.equal(policyOf({ [`${N}force-ssl-redirect`]: 'true' }, false, false).redirectToHttps, true);
    assert.equal(policyOf({ [`${N}force-ssl-redirect`]: 'false' }, false, true).redirectToHttps, false);
    assert.equal(policyOf({}, false, true).redirectToHttps, false);
    assert.equal(policyOf({}, true, true).redirectToHttps, true);
    assert.equal(policyOf({}, true, false).redirectToHttps, false);
    assert.equal(policyOf({ [`${N}ssl-redirect`]: 'true' }, true, false).redirectToHttps, true);
    assert.equal(policyOf({ [`${N}ssl-redirect`]: 'false' }, true, true).redirectToHttps, false);
  });
});

void describe('docs/annotations.md rows', () => {
  const entry = (name: string, doc: Annotation['doc']): Annotation => annotation({ name, scope: 'backend', grammar: bool, set: () => undefined, doc });

  test('rows sorted by name, Portico-only names among them; `|` escaped and line breaks joined in cells', () => {
    const registry = [entry('zz-portico-only', { default: 'none', what: 'Does z.', differences: 'a line\nbreak' }), entry('a-portico-only', { default: '`a|b`', what: 'One | two.' })];
    const doc = annotationsDoc(registry);
    const rows = doc.split('\n').filter((l) => l.startsWith('| `'));
    assert.equal(rows.length, INGRESS_NGINX_ANNOTATIONS.size + 2);
    assert.equal(rows[0], '| `a-portico-only` | yes | `a\\|b` | One \\| two. Value: "true" or "false"; applies to: backend. |');
    assert.equal(rows[1], '| `affinity` | not yet: ignored, with warning A2 | | |');
    assert.equal(rows.at(-1), '| `zz-portico-only` | yes, with a difference | none | Does z. **Difference:** a line break Value: "true" or "false"; applies to: backend. |');
    assert.match(doc, new RegExp(`\\. 2 of ${INGRESS_NGINX_ANNOTATIONS.size + 2} are honoured so far\\n\\(0 of them accepted with nothing to do`));
    const names = rows.map((r) => r.split('`')[1]!);
    assert.deepEqual([...names].sort(), names);
  });
});

void describe('annotations accepted with nothing to do (buffers)', () => {
  const findingsOf = (annotations: Record<string, string>): string[] => {
    const f = new Findings('Ingress default/site');
    parseIngressAnnotations(annotations, f);
    return f.list.map((d) => `${d.rule} ${d.field}: ${d.message}`);
  };

  test('a valid value is read in silence and changes no route: the route stays plain', () => {
    const annotations = {
      'nginx.ingress.kubernetes.io/proxy-buffering': 'on',
      'nginx.ingress.kubernetes.io/proxy-buffer-size': '16k',
      'nginx.ingress.kubernetes.io/proxy-buffers-number': '8',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
      'nginx.ingress.kubernetes.io/client-body-buffer-size': '1m',
      'nginx.ingress.kubernetes.io/proxy-max-temp-file-size': '0',
      'nginx.ingress.kubernetes.io/proxy-busy-buffers-size': '8k',
      'nginx.ingress.kubernetes.io/proxy-http-version': '1.0',
    };
    assert.deepEqual(findingsOf(annotations), []);
    const f = new Findings('Ingress default/site');
    assert.deepEqual(routePolicy(parseIngressAnnotations(annotations, f), false, { sslRedirect: true, forceSslRedirect: false }), { redirectToHttps: false });
  });

  test('a bad value is still reported (A1), and nothing else happens', () => {
    assert.deepEqual(findingsOf({ 'nginx.ingress.kubernetes.io/proxy-buffer-size': '16 k' }), [
      'A1 metadata.annotations[nginx.ingress.kubernetes.io/proxy-buffer-size]: "16 k" is not an nginx size such as 1000, 8k, 1m or 1g; the annotation is ignored',
    ]);
    assert.match(findingsOf({ 'nginx.ingress.kubernetes.io/proxy-buffering': 'yes' })[0]!, /^A1 .*"yes" is not one of "on", "off"/);
  });

  test('docs/annotations.md says why nothing is done', () => {
    const row = annotationsDoc(ANNOTATIONS).split('\n').find((l) => l.startsWith('| `proxy-buffering` |'))!;
    assert.match(row, /^\| `proxy-buffering` \| accepted: nothing to do \| off \| .*\*\*Why nothing is done:\*\* HAProxy passes responses on as they arrive/);
  });
});

// auth-tls-*: the grammars, the CA Secret read and re-encoded (fail closed on anything unusable), the host's choice
// of Ingress, and the runtime plan for a rotated CA.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { errorPageGrammar, hostClientAuth, matchCnGrammar, parseCaSecret } from '../../src/translate/annotations/auth-tls.js';
import type { AnnotationValues } from '../../src/translate/annotations/registry.js';
import { crtListEntry } from '../../src/haproxy/render/render.js';

const caPem = execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=Unit CA', '-days', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const secret = (data: Record<string, string>): Record<string, unknown> => ({ metadata: { name: 'ca', namespace: 'default' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });

describe('auth-tls grammars', () => {
  test('error page: URLs and paths of nginx\'s alphabet; named locations and injection refused', () => {
    for (const ok of ['https://login.example.com/cert', '/error', 'http://a.b:8080/x/y.html']) assert.ok(errorPageGrammar.parse(ok).ok, ok);
    for (const bad of ['@named', 'https://a.b/x?y=1', 'https://a.b/x y', 'https://a.b/"', 'https://a.b/\nLocation: x']) assert.equal(errorPageGrammar.parse(bad).ok, false, bad);
  });
  test('match-cn: CN= and a safe expression', () => {
    assert.ok(matchCnGrammar.parse('CN=client-(a|b)').ok);
    for (const bad of ['client', 'CN=(a+)+$', 'CN=a b', 'CN=a#b', 'CN=(?=x)']) assert.equal(matchCnGrammar.parse(bad).ok, false, bad);
  });
});

describe('the CA Secret', () => {
  test('ca.crt re-encoded from the parsed certificate; junk around it never copied', () => {
    const r = parseCaSecret(secret({ 'ca.crt': `junk\n${caPem}\n# comment` }), 'default/ca');
    assert.ok(r.ok);
    assert.ok(r.ca.pem.startsWith('-----BEGIN CERTIFICATE-----\n') && r.ca.pem.endsWith('-----END CERTIFICATE-----\n'));
    assert.ok(!r.ca.pem.includes('junk'));
    assert.equal(r.ca.id, 'default_ca');
  });
  test('missing ca.crt, a broken certificate, a CRL that does not parse: refused, naming the field', () => {
    assert.deepEqual(pick(parseCaSecret(secret({ other: 'x' }), 'default/ca')), 'data[ca.crt]');
    assert.deepEqual(pick(parseCaSecret(secret({ 'ca.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }), 'default/ca')), 'data[ca.crt]');
    assert.deepEqual(pick(parseCaSecret(secret({ 'ca.crt': caPem, 'ca.crl': '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n' }), 'default/ca')), 'data[ca.crl]');
    assert.deepEqual(pick(parseCaSecret(secret({ 'ca.crt': caPem, 'ca.crl': 'not a crl' }), 'default/ca')), 'data[ca.crl]');
  });
});

function pick(r: ReturnType<typeof parseCaSecret>): string {
  return r.ok ? 'ok' : r.field;
}

describe('a host\'s client authentication', () => {
  const ing = (name: string, v: AnnotationValues, namespace = 'default') => ({ namespace, ref: `Ingress ${namespace}/${name}`, annotations: v });
  const lookup = (k: string) => (k === 'default/ca' ? secret({ 'ca.crt': caPem }) : undefined);
  test('the oldest Ingress with a usable CA decides; verify-depth 0 is 1', () => {
    const r = hostClientAuth([ing('a', { authTlsSecret: { name: 'ca' }, authTlsVerifyClient: 'optional', authTlsVerifyDepth: 0 }), ing('b', { authTlsSecret: { name: 'ca' }, authTlsVerifyClient: 'off' })], lookup)!;
    assert.equal(r.policy.verify, 'optional');
    assert.equal(r.tls?.depth, 1);
  });
  test('any Ingress on the host with a missing, cross-namespace or broken CA makes the host refuse', () => {
    for (const bad of [{ authTlsSecret: { name: 'nothere' } }, { authTlsSecret: { namespace: 'other', name: 'ca' } }, { authTlsSecret: 'invalid' as const }, { authTlsSecret: { name: 'ca' }, authTlsBroken: true as const }]) {
      const r = hostClientAuth([ing('a', { authTlsSecret: { name: 'ca' } }), ing('b', bad)], lookup)!;
      assert.equal(r.policy.verify, 'refuse', JSON.stringify(bad));
      assert.equal(r.tls, undefined);
    }
  });
  test('no auth-tls-secret anywhere: nothing', () => {
    assert.equal(hostClientAuth([ing('a', {})], lookup), undefined);
  });
});

describe('crt-list lines', () => {
  const ca = { id: 'default_ca', secret: 'default/ca', pem: caPem, sha256: `0123456789abcdef${'0'.repeat(48)}` };
  test('a host with client authentication names its CA (and CRL), by content, with verify optional; others nothing', () => {
    assert.equal(crtListEntry('/s', { host: 'a.test', certificate: 'default_site', clientAuth: { ca: 'default_ca', depth: 1 } }, new Map([['default_ca', ca]])), '/s/certs/default_site.pem [ca-file /s/certs/ca.default_ca.0123456789abcdef.pem verify optional] a.test');
    assert.equal(crtListEntry('/s', { host: 'a.test', certificate: 'default', clientAuth: { ca: 'default_ca', depth: 1 } }, new Map([['default_ca', { ...ca, crl: 'x' }]])), '/s/certs/default.pem [ca-file /s/certs/ca.default_ca.0123456789abcdef.pem verify optional crl-file /s/certs/crl.default_ca.0123456789abcdef.pem] a.test');
    assert.equal(crtListEntry('/s', { host: 'b.test', certificate: 'default_site' }, new Map()), '/s/certs/default_site.pem b.test');
    assert.throws(() => crtListEntry('/s', { host: 'a.test', certificate: 'default_site', clientAuth: { ca: 'default_ca', depth: 1 } }, new Map([['default_ca', { ...ca, sha256: '../x' }]])), /render: refusing CA hash/);
  });
  test('a line naming a CA no host has is refused (render fails closed)', () => {
    assert.throws(() => crtListEntry('/s', { host: 'a.test', certificate: 'default_site', clientAuth: { ca: 'nope', depth: 1 } }, new Map()));
  });
});

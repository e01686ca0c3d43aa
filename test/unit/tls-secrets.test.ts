// Rules T2, T4, T5, M7 at their edges: how a Secret's fields are read, which SANs select a certificate, which tls
// hosts a certificate covers, and which Ingress wins a host. The certificates are checked in under
// fixtures/tls/ (make.sh there rebuilds them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTls, covers, parseTlsSecret } from '../../src/translate/tls.js';
import { validateIngress } from '../../src/translate/validate-ingress.js';
import type { IngressInfo } from '../../src/translate/validate-ingress.js';

const FIXTURES = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'test', 'unit', 'fixtures', 'tls');
const pem = (name: string): string => readFileSync(join(FIXTURES, `${name}.pem`), 'utf8');
const b64 = (s: string): string => Buffer.from(s).toString('base64');
type Obj = Record<string, unknown>;
const secret = (name: string, data: Obj, stringData?: Obj): Obj => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'default' },
  type: 'kubernetes.io/tls',
  data,
  ...(stringData ? { stringData } : {}),
});
const pair = (cert: string, key: string): Obj => ({ 'tls.crt': b64(pem(cert)), 'tls.key': b64(pem(key)) });
const pkcs8 = (key: string): string => createPrivateKey(pem(key)).export({ type: 'pkcs8', format: 'pem' }).toString();

void describe('parseTlsSecret: reading the fields', () => {
  test('stringData (as written in a manifest) comes before data, field by field', () => {
    const r = parseTlsSecret(secret('s', { 'tls.crt': 'bm90IGEgY2VydA==', 'tls.key': b64(pem('mixed.key')) }, { 'tls.crt': pem('mixed.crt') }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.cert.dnsNames, ['mixed.example.com', 'www.example.com']);
  });

  test('base64 may be wrapped over lines; anything else is not base64', () => {
    const wrapped = (s: string): string => b64(s).replace(/.{76}/g, '$&\n');
    assert.ok(parseTlsSecret(secret('s', { 'tls.crt': wrapped(pem('mixed.crt')), 'tls.key': wrapped(pem('mixed.key')) })).ok);
    assert.deepEqual(parseTlsSecret(secret('s', { 'tls.crt': `!${b64(pem('mixed.crt'))}`, 'tls.key': b64(pem('mixed.key')) })), {
      ok: false,
      field: 'data[tls.crt]',
      rule: 'T2',
      reason: 'tls.crt is missing or not base64',
    });
    assert.deepEqual(parseTlsSecret(secret('s', { 'tls.crt': b64(pem('mixed.crt')), 'tls.key': `${b64(pem('mixed.key'))}*` })), {
      ok: false,
      field: 'data[tls.key]',
      rule: 'T2',
      reason: 'tls.key is missing or not base64',
    });
  });

  test('a field of whitespace only is missing', () => {
    assert.deepEqual(parseTlsSecret(secret('s', { 'tls.crt': b64(' \n'), 'tls.key': b64(pem('mixed.key')) })), {
      ok: false,
      field: 'data[tls.crt]',
      rule: 'T2',
      reason: 'tls.crt is missing or not base64',
    });
    assert.deepEqual(parseTlsSecret(secret('s', { 'tls.crt': b64(pem('mixed.crt')), 'tls.key': b64('\t\n') })), {
      ok: false,
      field: 'data[tls.key]',
      rule: 'T2',
      reason: 'tls.key is missing or not base64',
    });
  });

  test('only DNS SANs select a certificate, lowercased (not IP addresses, not e-mail addresses)', () => {
    const r = parseTlsSecret(secret('s', pair('mixed.crt', 'mixed.key')));
    assert.ok(r.ok);
    assert.deepEqual(r.cert.dnsNames, ['mixed.example.com', 'www.example.com']);
  });

  test('a chain: the PEM HAProxy gets is every certificate in order, then the key (PKCS#8)', () => {
    const r = parseTlsSecret(secret('s', { 'tls.crt': b64(pem('leaf.crt') + pem('ca.crt')), 'tls.key': b64(pem('leaf.key')) }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.cert.pem, new X509Certificate(pem('leaf.crt')).toString() + new X509Certificate(pem('ca.crt')).toString() + pkcs8('leaf.key'));
    assert.deepEqual(r.cert.dnsNames, ['chain.example.com']);
  });

  test('two Secrets whose tls.crt and tls.key differ only in where one ends and the other begins are not confused', () => {
    // PEM parsers skip blocks of other types: a CERTIFICATE block before the key in tls.key is ignored.
    const a = parseTlsSecret(secret('a', { 'tls.crt': b64(pem('leaf.crt')), 'tls.key': b64(pem('ca.crt') + pem('leaf.key')) }));
    const b = parseTlsSecret(secret('b', { 'tls.crt': b64(pem('leaf.crt') + pem('ca.crt')), 'tls.key': b64(pem('leaf.key')) }));
    assert.ok(a.ok && b.ok);
    assert.equal(a.cert.pem.match(/BEGIN CERTIFICATE/g)?.length, 1);
    assert.equal(b.cert.pem.match(/BEGIN CERTIFICATE/g)?.length, 2);
  });
});

void describe('covers', () => {
  test('a host by its own name, or by a wildcard for exactly one more label', () => {
    assert.equal(covers(['a.example.com'], 'a.example.com'), true);
    assert.equal(covers(['*.example.com'], 'a.example.com'), true);
    assert.equal(covers(['*.example.com'], 'a.b.example.com'), false);
    assert.equal(covers(['*.example.com'], 'example.com'), false);
  });
  test('a wildcard tls host only by the same wildcard', () => {
    assert.equal(covers(['*.example.com'], '*.example.com'), true);
    assert.equal(covers(['*.example.com'], '*.a.example.com'), false);
    assert.equal(covers(['a.example.com'], '*.example.com'), false);
  });
  test('a one-label host by nothing but its name (a SAN "*t" is no wildcard for "intranet")', () => {
    assert.equal(covers(['*t', '*.intranet'], 'intranet'), false);
    assert.equal(covers(['intranet'], 'intranet'), true);
  });
});

void describe('buildTls', () => {
  const ingress = (name: string, created: string | undefined, tls: Obj[]): IngressInfo => {
    const raw = {
      metadata: { name, namespace: 'default', ...(created ? { creationTimestamp: created } : {}) },
      spec: { tls, defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
    };
    const { info, findings } = validateIngress(raw, { checkCreateOnlyRules: true });
    assert.ok(info, JSON.stringify(findings.list));
    return info;
  };
  const secrets = new Map<string, Obj>([
    ['default/mixed', secret('mixed', pair('mixed.crt', 'mixed.key'))],
    ['default/mixed-too', secret('mixed-too', pair('mixed.crt', 'mixed.key'))],
    ['default/odd', secret('odd', pair('odd.crt', 'odd.key'))],
  ]);

  test('M7: the oldest Ingress binds a host, whatever the order of the list; the same Secret twice is no conflict', () => {
    const young = ingress('a-young', '2024-01-01T00:00:00Z', [{ hosts: ['mixed.example.com'], secretName: 'mixed-too' }]);
    const old = ingress('z-old', '2020-01-01T00:00:00Z', [{ hosts: ['mixed.example.com'], secretName: 'mixed' }]);
    const again = ingress('m-again', '2022-01-01T00:00:00Z', [{ hosts: ['mixed.example.com'], secretName: 'mixed' }]);
    const r = buildTls([young, old, again], secrets, undefined);
    assert.deepEqual(r.sni, [{ host: 'mixed.example.com', certificate: 'default_mixed' }]);
    assert.deepEqual(r.diagnostics.map((d) => [d.object, d.field, d.rule]), [['Ingress default/a-young', 'spec.tls[0].hosts[0]', 'M7']]);
  });

  test('T5: a wildcard tls host the certificate has no wildcard SAN for gets the default certificate', () => {
    const r = buildTls([ingress('w', undefined, [{ hosts: ['*.example.com'], secretName: 'mixed' }])], secrets, undefined);
    assert.deepEqual(r.sni, []);
    assert.deepEqual(r.diagnostics, [
      {
        level: 'warning',
        object: 'Ingress default/w',
        field: 'spec.tls[0].hosts[0]',
        rule: 'T5',
        message: 'certificate in Secret default/mixed does not cover *.example.com (SANs: mixed.example.com, www.example.com); the default certificate is used',
      },
    ]);
  });

  test('T4: a tls entry without hosts selects its certificate by every SAN that is a DNS name, one character included', () => {
    const r = buildTls([ingress('san', undefined, [{ secretName: 'odd' }])], secrets, undefined);
    assert.deepEqual(r.sni, [{ host: 'a', certificate: 'default_odd' }]);
    assert.deepEqual(r.diagnostics.map((d) => [d.object, d.rule, d.message]), [
      ['Secret default/odd', 'T4', 'SAN "*t" is not a DNS name; the certificate is not selected by it'],
      ['Secret default/odd', 'T4', `SAN ${JSON.stringify('a_'.repeat(150).slice(0, 253))} is not a DNS name; the certificate is not selected by it`],
    ]);
  });
});

// Rules tls-expired and tls-not-yet-valid: served anyway, reported as warnings, by a pure function of the model's
// certificates and a time. That the controller reports them at every sync and at least once an hour while nothing
// changes is controller-expiry.test.ts (kept apart: this file runs under `npm run mutate`, that one needs the test
// context).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validityDiagnostics } from '../../src/translate/certificate-validity.js';
import type { Certificate } from '../../src/model/types.js';

const cert = (secret: string, notBefore: string, notAfter: string): Certificate => ({ id: secret.replace('/', '_'), secret, pem: '', dnsNames: [], notBefore, notAfter, sha256: '' });
const at = (iso: string): number => Date.parse(iso);

void describe('validityDiagnostics', () => {
  const list = [cert('default/now', '2020-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z'), cert('team-a/old', '2019-01-01T00:00:00.000Z', '2021-01-01T00:00:00.000Z'), cert('team-b/future', '2029-01-01T00:00:00.000Z', '2031-01-01T00:00:00.000Z')];

  test('an expired certificate gets a tls-expired warning on its Secret naming notAfter', () => {
    const d = validityDiagnostics(list, at('2025-06-01T00:00:00Z'));
    assert.deepEqual(d.map((x) => [x.level, x.object, x.field, x.rule]), [
      ['warning', 'Secret team-a/old', 'data[tls.crt]', 'tls-expired'],
      ['warning', 'Secret team-b/future', 'data[tls.crt]', 'tls-not-yet-valid'],
    ]);
    assert.match(d[0]!.message, /2021-01-01T00:00:00\.000Z \(notAfter\)/);
    assert.match(d[1]!.message, /2029-01-01T00:00:00\.000Z \(notBefore\)/);
  });

  test('the boundaries are inclusive: valid at notBefore and at notAfter, expired one millisecond later', () => {
    const one = [cert('default/x', '2020-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z')];
    assert.deepEqual(validityDiagnostics(one, at('2020-01-01T00:00:00Z')), []);
    assert.deepEqual(validityDiagnostics(one, at('2030-01-01T00:00:00Z')), []);
    assert.equal(validityDiagnostics(one, at('2030-01-01T00:00:00Z') + 1)[0]?.rule, 'tls-expired');
    assert.equal(validityDiagnostics(one, at('2020-01-01T00:00:00Z') - 1)[0]?.rule, 'tls-not-yet-valid');
  });

  test('nothing to say about certificates in their validity period', () => {
    assert.deepEqual(validityDiagnostics([list[0]!], at('2025-06-01T00:00:00Z')), []);
  });
});

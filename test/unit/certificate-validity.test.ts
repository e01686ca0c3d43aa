// Rules tls-expired and tls-not-yet-valid: served anyway, reported as warnings, by a pure function of the model's
// certificates and a time; the controller reports them at every sync and at least once an hour while nothing changes.
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { validityDiagnostics } from '../../src/translate/certificate-validity.js';
import type { Certificate, RoutingModel } from '../../src/model/types.js';
import { Controller } from '../../src/controller.js';
import type { Applier } from '../../src/haproxy/apply.js';
import { emptySnapshot } from '../../src/translate/translate.js';
import { makeCert, tlsSecretYaml } from '../e2e/harness/certs.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { ingress } from '../e2e/harness/manifests.js';

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

void describe('the controller reports expiry while nothing changes', () => {
  test('a certificate that expires between two changes is logged within an hour', async (t) => {
    const pair = makeCert({ cn: 'expiring', dnsNames: ['expiring.test'], keyFormat: 'pkcs8', days: 1 });
    const notAfter = Date.parse(new X509Certificate(pair.certPem).validTo);
    // Half an hour before the certificate expires, with the controller's clock and timers under the test's control.
    mock.timers.enable({ apis: ['setInterval', 'setTimeout', 'Date'], now: notAfter - 30 * 60_000 });
    t.after(() => mock.timers.reset());
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const applied: RoutingModel[] = [];
    const applier = { isLive: true, apply: (m: RoutingModel) => (applied.push(m), Promise.resolve({ applied: true })) } as unknown as Applier;
    const controller = new Controller({ translate: { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true } }, applier, log);
    t.after(() => controller.stop());

    const parsed = parseManifestText(`${tlsSecretYaml('default', 'expiring', pair)}---\n${ingress({ name: 'site', tls: [{ hosts: ['expiring.test'], secretName: 'expiring' }], rules: [{ host: 'expiring.test', paths: [{ path: '/', pathType: 'Prefix', service: 'web', port: 80 }] }] })}`);
    assert.ok(parsed.ok);
    const snapshot = { ...emptySnapshot(), secrets: parsed.objects.filter((o) => o.kind === 'Secret'), ingresses: parsed.objects.filter((o) => o.kind === 'Ingress') };
    await controller.submit(snapshot);
    const expired = (): Record<string, unknown>[] => lines.filter((l) => l.rule === 'tls-expired');
    assert.equal(applied.at(-1)?.certificates.length, 1, 'the certificate is served');
    assert.deepEqual(expired(), [], 'not expired yet');

    mock.timers.tick(60 * 60_000); // an hour later: expired half an hour ago, and nothing changed
    for (let i = 0; i < 20 && expired().length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.equal(expired().length, 1, 'the expiry was logged');
    assert.equal(expired()[0]!.object, 'Secret default/expiring');
    assert.equal(applied.at(-1)?.certificates.length, 1, 'and the certificate is still served');
  });
});

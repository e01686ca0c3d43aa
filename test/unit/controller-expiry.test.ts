// Rules tls-expired and tls-not-yet-valid in the controller: reported at every sync and at least once an hour while
// nothing changes (the rule itself, validityDiagnostics, is certificate-validity.test.ts).
import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import type { RoutingModel } from '../../src/model/types.js';
import { Controller } from '../../src/controller.js';
import type { Applier } from '../../src/haproxy/apply.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import { makeCert, tlsSecretYaml } from '../e2e/harness/certs.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { ingress } from '../e2e/harness/manifests.js';

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

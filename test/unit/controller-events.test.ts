// What the controller hands to the Events writer (onLive): every diagnostic that appeared, once, when a configuration
// goes live, even when the sync it appeared in was deferred (the reload window) and a later sync made it live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Diagnostic, RoutingModel } from '../../src/model/types.js';
import { Controller } from '../../src/controller.js';
import type { Applier, ApplyOutcome } from '../../src/haproxy/apply.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { ingress } from '../e2e/harness/manifests.js';

test('a diagnostic of a deferred sync is handed over when the next sync goes live, and only once', async () => {
  const outcomes: ApplyOutcome[] = [{ applied: false, deferredMs: 60_000 }, { applied: true, via: 'reload' }, { applied: true, via: 'runtime' }];
  const applier = { isLive: true, apply: (_m: RoutingModel) => Promise.resolve(outcomes.shift() ?? { applied: true }) } as unknown as Applier;
  const handed: Diagnostic[][] = [];
  const controller = new Controller(
    { translate: { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true }, onLive: (_r, fresh) => handed.push(fresh) },
    applier,
    pino({ level: 'silent' }),
  );
  try {
    const objects = (annotations: Record<string, string>) => {
      const parsed = parseManifestText(ingress({ name: 'site', annotations, rules: [{ host: 'site.test', paths: [{ path: '/', pathType: 'Prefix', service: 'web', port: 80 }] }] }));
      assert.ok(parsed.ok);
      return { ...emptySnapshot(), ingresses: parsed.objects };
    };
    const typo = { 'nginx.ingress.kubernetes.io/client-max-body-size': '8m' };
    await controller.submit(objects(typo));
    assert.equal(handed.length, 0, 'deferred: nothing went live');
    await controller.submit(objects({ ...typo, 'nginx.ingress.kubernetes.io/proxy-body-size': '1m' }));
    assert.equal(handed.length, 1);
    assert.deepEqual(handed[0]!.map((d) => d.rule).sort(), ['A3', 'B3'], 'the findings of the deferred sync');
    await controller.submit(objects({ ...typo, 'nginx.ingress.kubernetes.io/proxy-body-size': '2m' }));
    assert.deepEqual(handed[1], [], 'and not again');
  } finally {
    controller.stop();
  }
});

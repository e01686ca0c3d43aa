// The controller's side of isolation, with a stand-in applier whose "HAProxy" rejects models holding a given
// backend: what goes live, what is left out and reported, when isolation runs (and when it does not), and that a
// translate that throws on some object is isolated like a rejection. Real HAProxy: test/e2e/isolation.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Controller } from '../../src/controller.js';
import type { Applier, ApplyOutcome } from '../../src/haproxy/apply.js';
import type { RoutingModel } from '../../src/model/types.js';
import { translate } from '../../src/translate/translate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';

type Obj = Record<string, unknown>;
const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };

const ingress = (name: string, service = name): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default' },
  spec: { rules: [{ host: `${name}.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] },
});
const snap = (ingresses: Obj[], services: Obj[] = []): Snapshot => ({ ...emptySnapshot(), ingresses, services });
const hosts = (m: RoutingModel | undefined): string[] => (m?.hostGroups ?? []).map((g) => g.key);

/** A stand-in for the Applier: "HAProxy" rejects every model with a backend whose name contains `poison`. */
class FakeApplier {
  live: RoutingModel | undefined;
  checks = 0;
  constructor(private readonly rejects: (m: RoutingModel) => boolean = (m) => m.backends.some((b) => b.name.includes('poison'))) {}
  get isLive(): boolean {
    return this.live !== undefined;
  }
  apply(model: RoutingModel): Promise<ApplyOutcome> {
    if (this.rejects(model)) return Promise.resolve({ applied: false, rejected: true, error: 'haproxy -c rejected the candidate configuration: [ALERT] (1) : config : poisoned' });
    const via = this.live ? 'reload' : 'start';
    this.live = model;
    return Promise.resolve({ applied: true, via });
  }
  check(model: RoutingModel): Promise<{ ok: boolean; output: string }> {
    this.checks++;
    return Promise.resolve(this.rejects(model) ? { ok: false, output: '[ALERT]    (1) : config : poisoned by test' } : { ok: true, output: '' });
  }
}

function setup(applier = new FakeApplier()) {
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const controller = new Controller({ translate: OPTIONS }, applier as unknown as Applier, log);
  return { controller, applier, logs };
}

describe('controller isolation', () => {
  test('at start, the Ingress HAProxy rejects is left out and reported; everything else goes live', async () => {
    const { controller, applier, logs } = setup();
    await controller.submit(snap([ingress('a'), ingress('poison'), ingress('b')]));
    assert.deepEqual(hosts(applier.live), ['a.test', 'b.test']);
    const d = controller.last?.diagnostics.find((x) => x.rule === 'haproxy-rejected');
    assert.equal(d?.object, 'Ingress default/poison');
    assert.match(d?.message ?? '', /poisoned by test/);
    assert.equal(logs.filter((l) => l.rule === 'haproxy-rejected').length, 1);
    controller.stop();
  });

  test('later changes go live without isolating again; a changed culprit is tried again', async () => {
    const { controller, applier } = setup();
    const poison = ingress('poison');
    await controller.submit(snap([ingress('a'), poison]));
    const checks = applier.checks;
    await controller.submit(snap([ingress('a'), poison, ingress('c')]));
    assert.deepEqual(hosts(applier.live), ['a.test', 'c.test']);
    assert.equal(applier.checks, checks, 'the unchanged culprit is not checked again');
    // A re-read of the same object (new reference, same content) stays out without a check either.
    await controller.submit(snap([ingress('a'), structuredClone(poison), ingress('c')]));
    assert.equal(applier.checks, checks);
    // Fixed: it now routes to another Service, and goes live.
    await controller.submit(snap([ingress('a'), ingress('poison', 'healthy'), ingress('c')]));
    assert.deepEqual(hosts(applier.live), ['a.test', 'c.test', 'poison.test']);
    assert.equal(controller.last?.diagnostics.some((x) => x.rule === 'haproxy-rejected'), false, 'the diagnostic is gone');
    controller.stop();
  });

  test('a failure no object causes leaves nothing out, and the last good configuration stays live', async () => {
    let broken = false;
    const { controller, applier, logs } = setup(new FakeApplier(() => broken));
    await controller.submit(snap([ingress('a')]));
    broken = true;
    await controller.submit(snap([ingress('a'), ingress('b')]));
    assert.deepEqual(hosts(applier.live), ['a.test']);
    assert.ok(logs.some((l) => String(l.msg).includes('no object is to blame')));
    assert.equal(controller.last?.diagnostics.some((x) => x.rule === 'haproxy-rejected'), false);
    assert.ok(applier.checks <= 3, `${applier.checks} checks`);
    controller.stop();
  });

  test('an object translate throws on is left out (translate-failed), and translation stays exact afterwards', async () => {
    const { controller, applier } = setup(new FakeApplier(() => false));
    // A Service whose spec cannot be read: translate throws when an Ingress uses it.
    const hostile: Obj = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'hostile', namespace: 'default' } };
    Object.defineProperty(hostile, 'spec', { enumerable: true, get: () => { throw new Error('unreadable'); } });
    await controller.submit(snap([ingress('a'), ingress('uses-hostile', 'hostile')], [hostile]));
    assert.deepEqual(hosts(applier.live), ['a.test', 'uses-hostile.test']);
    const d = controller.last?.diagnostics.find((x) => x.rule === 'translate-failed');
    assert.equal(d?.object, 'Service default/hostile');
    const next = snap([ingress('a'), ingress('b'), ingress('uses-hostile', 'hostile')], [hostile]);
    await controller.submit(next);
    const fresh = translate({ ...next, services: [] }, OPTIONS);
    assert.deepEqual(applier.live, fresh.model, 'the incremental result equals a fresh translation of what went live');
    controller.stop();
  });
});

// ConfigMaps as Portico reads them: one entry of the kinds registry; what the store and the Kubernetes source keep of
// one (name, namespace, resourceVersion, data: not kubectl's last-applied annotation, managedFields or binaryData);
// the source against the stand-in API server (list, a data change through the watch); translate's index of which host
// groups read which ConfigMap (a change to one nobody reads rebuilds nothing, one that appears rebuilds the groups that
// were waiting for it); and what a ConfigMap of 10,000 namespaces costs in memory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KINDS, emptySnapshot, kindFieldOf, retainConfigMap } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { Obj } from '../../src/k8s/objects.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { KubeClient } from '../../src/sources/kubernetes/client.js';
import { kubeconfigFile } from '../../src/sources/kubernetes/config.js';
import { KubernetesSource } from '../../src/sources/kubernetes/source.js';
import { Translator } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { configMapNameGrammar, readConfigMap } from '../../src/translate/configmaps.js';
import { startApiServer } from '../kube-apiserver/server.js';
import { pino } from 'pino';

const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };
const silent = pino({ level: 'silent' });

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const cm = (name: string, data: Record<string, string>, ns = 'default', extra: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data, ...extra });
const ing = (name: string, host: string, annotations: Record<string, string>): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default', annotations },
  spec: { rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
});

void describe('the ConfigMap kind', () => {
  test('read from manifests by kind and core-group apiVersion; another group is not a ConfigMap', () => {
    assert.equal(kindFieldOf({ kind: 'ConfigMap', apiVersion: 'v1' }), 'configMaps');
    assert.equal(kindFieldOf({ kind: 'ConfigMap', apiVersion: 'example.com/v1' }), undefined);
    assert.equal(KINDS.configMaps.resource, 'configmaps');
  });

  test('only name, namespace, uid, resourceVersion, creationTimestamp and data are kept', () => {
    const full = cm('big', { a: '1' }, 'shop', {
      binaryData: { blob: 'AAAA' },
      metadata: { name: 'big', namespace: 'shop', resourceVersion: '7', uid: 'u', labels: { x: 'y' }, annotations: { [LAST_APPLIED]: 'x'.repeat(1000) }, managedFields: [{ manager: 'kubectl' }] },
    });
    assert.deepEqual(retainConfigMap(full), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', namespace: 'shop', uid: 'u', resourceVersion: '7' }, data: { a: '1' } });
    const { snapshot } = snapshotFromFiles(new Map([['a.yaml', [full, cm('nons', { b: '2' }, '')]]]));
    assert.deepEqual(
      snapshot.configMaps.map((o) => [(o.metadata as Obj).namespace, (o.metadata as Obj).annotations, o.binaryData, o.data]),
      [
        ['shop', undefined, undefined, { a: '1' }],
        ['default', undefined, undefined, { b: '2' }],
      ],
    );
  });

  test('the annotation value: name or namespace/name; anything else is refused', () => {
    assert.deepEqual(configMapNameGrammar.parse('headers'), { ok: true, value: { name: 'headers' } });
    assert.deepEqual(configMapNameGrammar.parse('shop/headers.v2'), { ok: true, value: { namespace: 'shop', name: 'headers.v2' } });
    for (const bad of ['a/b/c', 'Shop/x', '/x', 'x/', 'a b', 'x\n', '../x', 'a'.repeat(254)]) assert.equal(configMapNameGrammar.parse(bad).ok, false, bad);
  });

  test("readConfigMap: another namespace and a missing ConfigMap are findings on the Ingress; data sorted by key, strings only", () => {
    const lookup = (k: string): Obj | undefined => (k === 'shop/h' ? cm('h', { b: '2', a: '1', n: 5 as unknown as string }, 'shop') : undefined);
    const ingRef = { namespace: 'shop', ref: 'Ingress shop/web' };
    const read = readConfigMap({ name: 'h' }, ingRef, 'f', 'r', lookup, 'so');
    assert.ok('data' in read);
    assert.deepEqual(read.data.entries, [['a', '1'], ['b', '2']]);
    assert.equal(read.data.object, 'ConfigMap shop/h');
    const other = readConfigMap({ namespace: 'else', name: 'h' }, ingRef, 'f', 'r', lookup, 'so');
    assert.ok('refused' in other && /another namespace/.test(other.refused.message) && other.refused.object === 'Ingress shop/web');
    const missing = readConfigMap({ name: 'x' }, ingRef, 'f', 'r', lookup, 'so');
    assert.ok('refused' in missing && /was not found: so$/.test(missing.refused.message));
  });
});

void describe('translate: which host groups read which ConfigMap', () => {
  // Counts the host groups the translator rebuilds: the cost a ConfigMap change has.
  function counted(t: Translator): { rebuilt: string[] } {
    const seen = { rebuilt: [] as string[] };
    const inner = t as unknown as { rebuildGroup: (key: string, b: Set<string>) => void };
    const original = inner.rebuildGroup.bind(t);
    inner.rebuildGroup = (key, b) => {
      seen.rebuilt.push(key);
      original(key, b);
    };
    return seen;
  }
  // The same Ingress objects every time, as sources hand over unchanged objects.
  const ingresses = [ing('a', 'a.test', { 'nginx.ingress.kubernetes.io/custom-headers': 'headers' }), ing('b', 'b.test', {}), ing('c', 'c.test', { 'nginx.ingress.kubernetes.io/custom-headers': 'later' })];
  const base = (configMaps: Obj[]): Snapshot => ({ ...emptySnapshot(), ingresses, configMaps });

  test('a change to a ConfigMap nobody reads rebuilds nothing; one a group reads rebuilds that group only; one that appears rebuilds the group waiting for it', () => {
    const t = new Translator(OPTIONS);
    const root = cm('kube-root-ca.crt', { 'ca.crt': 'x' });
    const headers = cm('headers', { 'X-A': '1' });
    t.update(base([root, headers]));
    const seen = counted(t);
    const root2 = cm('kube-root-ca.crt', { 'ca.crt': 'y' });
    const unrelated = t.update(base([root2, headers]));
    assert.deepEqual(seen.rebuilt, [], 'an unread ConfigMap costs no translation');
    const headers2 = cm('headers', { 'X-A': '2' });
    const changed = t.update(base([root2, headers2]));
    assert.deepEqual(seen.rebuilt, ['a.test']);
    assert.notEqual(changed.model.hostGroups, unrelated.model.hostGroups);
    const route = (r: typeof changed, host: string) => r.model.hostGroups.find((g) => g.key === host)!.prefix[0]!.policy;
    assert.deepEqual(route(changed, 'a.test').customHeaders, { 'x-a': '2' });
    assert.equal(route(changed, 'c.test').refuseAll, true, 'waiting for its ConfigMap: 503');
    seen.rebuilt.length = 0;
    const appeared = t.update(base([root2, headers2, cm('later', { 'X-L': 'here' })]));
    assert.deepEqual(seen.rebuilt, ['c.test']);
    assert.deepEqual(route(appeared, 'c.test').customHeaders, { 'x-l': 'here' });
  });
});

void describe('the Kubernetes source with ConfigMaps (stand-in API server)', () => {
  test('lists and watches ConfigMaps, keeping their data and not their annotations or binaryData', async () => {
    const api = await startApiServer({ bookmarkIntervalMs: 100 });
    const client = new KubeClient(kubeconfigFile(api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'portico-cm-')), 'kubeconfig'))));
    const snapshots: Snapshot[] = [];
    const source = new KubernetesSource(client, { pageSize: 2, stallMs: 5000, backoff: { initialMs: 50, maxMs: 500 }, debounceMs: 5 }, (s) => snapshots.push(s), silent);
    try {
      for (const n of ['one', 'two', 'three']) api.create({ ...cm(n, { k: n }), metadata: { name: n, namespace: 'default', annotations: { [LAST_APPLIED]: 'x'.repeat(500) } }, binaryData: { b: 'AAAA' } });
      await source.start();
      const listed = source.snapshot().configMaps;
      assert.deepEqual(listed.map((o) => (o.data as Obj).k).sort(), ['one', 'three', 'two'], 'paged list');
      for (const o of listed) {
        assert.equal((o.metadata as Obj).annotations, undefined);
        assert.equal(o.binaryData, undefined);
        assert.match(String((o.metadata as Obj).resourceVersion), /^\d+$/);
      }
      const current = api.get('v1', 'ConfigMap', 'default', 'two')!;
      api.update({ ...current, data: { k: 'changed' } });
      const deadline = Date.now() + 5000;
      while (!snapshots.some((s) => s.configMaps.some((o) => (o.data as Obj).k === 'changed')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const last = snapshots.at(-1)!;
      const two = last.configMaps.find((o) => (o.metadata as Obj).name === 'two')!;
      assert.deepEqual(two.data, { k: 'changed' }, 'the watch brought the new data');
      assert.equal((two.metadata as Obj).annotations, undefined, 'a watched object is trimmed too');
      assert.equal(last.ingresses, snapshots[0]?.ingresses ?? last.ingresses, 'other kinds keep their lists');
    } finally {
      source.stop();
      await api.close();
    }
  });
});

void describe('memory: a kube-root-ca.crt ConfigMap in each of 10,000 namespaces', () => {
  test('what the source keeps of them, measured', { skip: typeof globalThis.gc !== 'function' && 'run node with --expose-gc to measure' }, () => {
    const gc = globalThis.gc as () => void;
    const ca = `-----BEGIN CERTIFICATE-----\n${'MIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJlcm5ldGVz\n'.repeat(14)}-----END CERTIFICATE-----\n`;
    const apiObject = (i: number): Obj => ({
      metadata: {
        name: 'kube-root-ca.crt',
        namespace: `ns-${i}`,
        uid: `0b6c5a8e-1f2d-4c3b-9a8e-${String(i).padStart(12, '0')}`,
        resourceVersion: String(100000 + i),
        creationTimestamp: '2026-01-01T00:00:00Z',
        annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' },
        managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:ca.crt': {} }, 'f:metadata': { 'f:annotations': { '.': {}, 'f:kubernetes.io/description': {} } } } }],
      },
      data: { 'ca.crt': ca },
    });
    const measure = (keep: (o: Obj) => Obj): number => {
      gc();
      const before = process.memoryUsage().heapUsed;
      // Parsed from JSON, as the source gets them: no string shared between objects.
      const held = Array.from({ length: 10_000 }, (_, i) => keep(JSON.parse(JSON.stringify(apiObject(i))) as Obj));
      gc();
      const bytes = process.memoryUsage().heapUsed - before;
      assert.equal(held.length, 10_000);
      return bytes;
    };
    const whole = measure((o) => o);
    const kept = measure(retainConfigMap);
    console.log(`10,000 kube-root-ca.crt ConfigMaps: ${(whole / 2 ** 20).toFixed(1)} MiB as listed, ${(kept / 2 ** 20).toFixed(1)} MiB as kept`);
    assert.ok(kept < whole, 'trimming saves memory');
  });
});

// The registry of object kinds (src/k8s/kinds.ts) and the object helpers (objects.ts): which objects Portico reads,
// by kind and API group; how an object is known within its kind (what duplicate reports name); and the API paths the
// Kubernetes source lists and watches.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KINDS, KIND_FIELDS, emptySnapshot, groupVersionPath, keyOf, kindFieldOf, perKind } from '../../src/k8s/kinds.js';
import type { KindField } from '../../src/k8s/kinds.js';
import { isObject, metadataOf, objectName, stringMap } from '../../src/k8s/objects.js';
import { snapshotFromFiles } from '../../src/store/store.js';

const apiVersion = (f: KindField): string => (KINDS[f].group === '' ? KINDS[f].version : `${KINDS[f].group}/${KINDS[f].version}`);

void describe('kindFieldOf: the objects Portico reads', () => {
  test('each kind by its kind and API group', () => {
    assert.deepEqual(
      KIND_FIELDS.map((f) => [f, kindFieldOf({ kind: KINDS[f].kind, apiVersion: apiVersion(f) })]),
      KIND_FIELDS.map((f) => [f, f]),
    );
    assert.deepEqual(KIND_FIELDS, ['ingressClasses', 'ingresses', 'services', 'endpointSlices', 'secrets', 'configMaps'], 'in the order isolation bisects in');
  });

  test('the same kind in another API group is not read', () => {
    assert.equal(kindFieldOf({ kind: 'Ingress', apiVersion: 'extensions/v1beta1' }), undefined);
    assert.equal(kindFieldOf({ kind: 'Ingress', apiVersion: 'v1' }), undefined);
    assert.equal(kindFieldOf({ kind: 'Service', apiVersion: 'serving.knative.dev/v1' }), undefined);
    assert.equal(kindFieldOf({ kind: 'EndpointSlice', apiVersion: 'networking.k8s.io/v1' }), undefined);
    assert.equal(kindFieldOf({ kind: 'ConfigMap', apiVersion: 'apps/v1' }), undefined);
  });

  test('a kind or apiVersion that is not a string reads as unset (no exception)', () => {
    assert.equal(kindFieldOf({ kind: 'Ingress', apiVersion: 1 }), undefined);
    assert.equal(kindFieldOf({ kind: 'Ingress', apiVersion: ['networking.k8s.io/v1'] }), undefined);
    assert.equal(kindFieldOf({ kind: 'Ingress', apiVersion: { group: 'networking.k8s.io' } }), undefined);
    assert.equal(kindFieldOf({ kind: ['Ingress'], apiVersion: 'networking.k8s.io/v1' }), undefined);
    assert.equal(kindFieldOf({ kind: null, apiVersion: 'v1' }), undefined);
  });
});

void describe('keyOf and objectName: how an object is known within its kind', () => {
  test('namespace/name, the namespace "default" when unset; a cluster-scoped kind by its name alone', () => {
    assert.equal(keyOf('ingresses', { metadata: { namespace: 'shop', name: 'web' } }), 'shop/web');
    assert.equal(keyOf('ingresses', { metadata: { name: 'web' } }), 'default/web');
    assert.equal(keyOf('ingresses', { metadata: { namespace: '', name: 'web' } }), 'default/web');
    assert.equal(keyOf('ingressClasses', { metadata: { name: 'portico', namespace: 'ignored' } }), 'portico');
    assert.equal(keyOf('ingressClasses', { metadata: { name: 'portico' } }), 'portico');
    assert.equal(objectName({ metadata: { name: 7, namespace: 8 } }, true), 'default/');
    assert.equal(objectName({ metadata: 'x' }, false), '');
    assert.equal(keyOf('secrets', null as unknown as Record<string, unknown>), 'default/');
  });

  test('duplicate reports name an object as Kind/namespace/name, or Kind/name for an IngressClass', () => {
    const cls = { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } };
    const ing = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web' }, spec: {} };
    const { snapshot, duplicates } = snapshotFromFiles(new Map([['a.yaml', [cls, ing]], ['b.yaml', [cls, { ...ing, metadata: { name: 'web', namespace: 'default' } }]]]));
    assert.deepEqual(duplicates, [
      { key: 'IngressClass/portico', kept: 'a.yaml', ignored: 'b.yaml' },
      { key: 'Ingress/default/web', kept: 'a.yaml', ignored: 'b.yaml' },
    ]);
    assert.equal(snapshot.ingressClasses.length, 1);
    assert.equal(snapshot.ingresses.length, 1);
  });
});

void describe('groupVersionPath: the API paths the Kubernetes source lists and watches', () => {
  test('the core group under /api, every other under /apis/<group>', () => {
    assert.deepEqual(
      Object.fromEntries(KIND_FIELDS.map((f) => [f, groupVersionPath(KINDS[f])])),
      {
        ingressClasses: '/apis/networking.k8s.io/v1',
        ingresses: '/apis/networking.k8s.io/v1',
        services: '/api/v1',
        endpointSlices: '/apis/discovery.k8s.io/v1',
        secrets: '/api/v1',
        configMaps: '/api/v1',
      },
    );
    assert.equal(groupVersionPath({ kind: 'X', group: 'example.com', version: 'v2', resource: 'xs', namespaced: true }), '/apis/example.com/v2');
  });
});

void describe('snapshots and per-kind values', () => {
  test('an empty snapshot has an empty, separate list per kind', () => {
    const a = emptySnapshot();
    assert.deepEqual(Object.keys(a), KIND_FIELDS);
    for (const f of KIND_FIELDS) assert.deepEqual(a[f], []);
    a.ingresses.push({});
    assert.deepEqual(emptySnapshot().ingresses, []);
    assert.deepEqual(perKind((f) => KINDS[f].resource), { ingressClasses: 'ingressclasses', ingresses: 'ingresses', services: 'services', endpointSlices: 'endpointslices', secrets: 'secrets', configMaps: 'configmaps' });
  });

  test('stringMap keeps the string entries of an object only; metadataOf reads a metadata object only', () => {
    assert.deepEqual(stringMap({ a: 'x', b: 1, c: null, d: ['y'], e: '' }), { a: 'x', e: '' });
    for (const v of [null, undefined, 'a=b', ['a'], 1]) assert.deepEqual(stringMap(v), {});
    assert.deepEqual(metadataOf({ metadata: ['x'] }), {});
    assert.deepEqual(metadataOf({ metadata: { name: 'n' } }), { name: 'n' });
    assert.equal(isObject([]), false);
    assert.equal(isObject(null), false);
    assert.equal(isObject({}), true);
  });
});

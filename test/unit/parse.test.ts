import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { ManifestStore, snapshotFromFiles } from '../../src/store/store.js';

test('multi-document YAML, JSON and List objects all yield objects; empty documents are skipped', () => {
  const r = parseManifestText('---\nkind: Service\napiVersion: v1\nmetadata: {name: a}\n---\n---\n{"kind":"List","items":[{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s"}}]}\n');
  assert.ok(r.ok);
  assert.deepEqual(r.objects.map((o) => o.kind), ['Service', 'Secret']);
});

test('a syntax error names line and column', () => {
  const r = parseManifestText('kind: Service\nmetadata:\n  name: a\n bad: [\n');
  assert.equal(r.ok, false);
  assert.ok(!r.ok && typeof r.line === 'number' && r.line >= 3, JSON.stringify(r));
});

test('a document that is not an object, or has no kind, rejects the file', () => {
  const scalar = parseManifestText('kind: Service\n---\n42\n');
  assert.ok(!scalar.ok && /not an object/.test(scalar.error));
  const nokind = parseManifestText('apiVersion: v1\nmetadata: {}\n');
  assert.ok(!nokind.ok && /no kind/.test(nokind.error) && nokind.line === 1);
});

test('alias bombs are refused instead of expanding', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);
  const r = parseManifestText(`kind: ConfigMap\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
  assert.equal(r.ok, false);
});

test('the store ignores other kinds and wrong API groups, defaults the namespace, and reports duplicates', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' } };
  const { snapshot, duplicates } = snapshotFromFiles(
    new Map([
      ['/b.yaml', [svc, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } }]],
      ['/a.yaml', [{ ...svc, spec: { first: true } }, { apiVersion: 'extensions/v1beta1', kind: 'Ingress', metadata: { name: 'old' } }]],
    ]),
  );
  assert.equal(snapshot.services.length, 1);
  assert.deepEqual(snapshot.services[0]?.spec, { first: true });
  assert.equal((snapshot.services[0]?.metadata as { namespace: string }).namespace, 'default');
  assert.equal(snapshot.ingresses.length, 0);
  assert.deepEqual(duplicates, [{ key: 'Service/default/a', kept: '/a.yaml', ignored: '/b.yaml' }]);
});

test('YAML 1.2 core semantics hold in large files, and a 200,000-item List parses', () => {
  const docs = Array.from({ length: 3000 }, (_, i) => `apiVersion: v1\nkind: Service\nmetadata: {name: s${i}, namespace: default, labels: {a: "yes", b: no, c: 010, d: 0o10, e: ~}}\nspec: {ports: [{port: ${i % 65535 || 1}}], created: 2024-01-01T00:00:00Z}\n`);
  const r = parseManifestText(docs.join('---\n'));
  assert.ok(r.ok);
  assert.equal(r.objects.length, 3000);
  // YAML 1.2 core schema: "no" stays a string, 010 is decimal 10, 0o10 is octal 8, timestamps stay strings.
  assert.deepEqual((r.objects[5]!.metadata as Record<string, unknown>).labels, { a: 'yes', b: 'no', c: 10, d: 8, e: null });
  assert.equal((r.objects[5]!.spec as Record<string, unknown>).created, '2024-01-01T00:00:00Z');
  const list = parseManifestText(JSON.stringify({ kind: 'List', items: Array.from({ length: 200_000 }, (_, i) => ({ kind: 'Secret', apiVersion: 'v1', metadata: { name: `x${i}` } })) }));
  assert.ok(list.ok && list.objects.length === 200_000);
});

test('duplicate keys: the last one wins, as with kubectl', () => {
  const r = parseManifestText('kind: Service\nmetadata: {name: a}\nmetadata: {name: b}\n');
  assert.ok(r.ok);
  assert.deepEqual(r.objects[0]!.metadata, { name: 'b' });
});

test('the incremental store gives what a fresh merge gives, keeps edited objects in place, and reports duplicates', () => {
  const doc = (kind: string, name: string, v: number): Record<string, unknown> => ({ apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, spec: { v } });
  const store = new ManifestStore();
  const s2 = doc('Service', 's2', 1);
  const files = new Map<string, Record<string, unknown>[]>([
    ['a.yaml', [doc('Service', 's1', 1), s2]],
    ['b.yaml', [doc('Service', 's2', 2), doc('Secret', 'x', 1)]],
  ]);
  const sorted = (s: ReturnType<ManifestStore['update']>['snapshot']): string => JSON.stringify(Object.values(s).map((l: Record<string, unknown>[]) => l.map((o) => JSON.stringify(o)).sort()));
  const check = (): ReturnType<ManifestStore['update']> => {
    const got = store.update(files);
    const want = snapshotFromFiles(files);
    assert.equal(sorted(got.snapshot), sorted(want.snapshot));
    assert.deepEqual(got.duplicates, want.duplicates);
    return got;
  };
  assert.deepEqual(check().duplicates, [{ key: 'Service/default/s2', kept: 'a.yaml', ignored: 'b.yaml' }]);
  const before = check().snapshot.services;
  files.set('a.yaml', [doc('Service', 's1', 9), s2]);
  const after = check().snapshot.services;
  assert.equal(after.length, before.length);
  assert.equal(after[1], before[1], 'an unchanged object keeps its identity and place');
  assert.deepEqual((after[0]!.spec as Record<string, unknown>).v, 9, 'the edited object stays where it was');
  files.delete('a.yaml');
  assert.deepEqual(check().duplicates, [], 'the remaining copy of s2 now wins');
  files.set('c.yaml', [doc('Service', 's3', 1)]);
  check();
});

test('an object defined twice in one file: the first definition is used and the repeat is reported', () => {
  const first = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default' }, spec: { v: 1 } };
  const again = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'a', namespace: 'default' }, spec: { v: 2 } };
  const r = new ManifestStore().update(new Map([['f.yaml', [first, again]]]));
  assert.deepEqual(r.snapshot.services, [first]);
  assert.deepEqual(r.duplicates, [{ key: 'Service/default/a', kept: 'f.yaml', ignored: 'f.yaml' }]);
});

test('the store hands over the same list for a kind nothing changed, and a new list for the kind that did', () => {
  const doc = (kind: string, name: string, v: number): Record<string, unknown> => ({ apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, spec: { v } });
  const store = new ManifestStore();
  const files = new Map<string, Record<string, unknown>[]>([
    ['a.yaml', [doc('Service', 's1', 1)]],
    ['b.yaml', [doc('Secret', 'x', 1)]],
  ]);
  const first = store.update(files).snapshot;
  files.set('b.yaml', [doc('Secret', 'x', 2)]);
  const second = store.update(files).snapshot;
  assert.equal(second.services, first.services, 'Services untouched: same list');
  assert.notEqual(second.secrets, first.secrets);
  assert.equal((second.secrets[0]!.spec as Record<string, unknown>).v, 2);
  files.set('b.yaml', [doc('Secret', 'x', 2), doc('Service', 's0', 1)]);
  const third = store.update(files).snapshot;
  assert.deepEqual(third.services.map((o) => (o.metadata as Record<string, unknown>).name), ['s1', 's0']);
  assert.notEqual(third.services, second.services);
  files.delete('b.yaml');
  const fourth = store.update(files).snapshot;
  assert.deepEqual(fourth.secrets, []);
  assert.deepEqual(fourth.services.map((o) => (o.metadata as Record<string, unknown>).name), ['s1']);
});

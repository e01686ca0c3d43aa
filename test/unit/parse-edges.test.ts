// Manifest files: exact diagnostics, typed lists, the size limit and the slow parser's own successes (the cases
// parse.test.ts leaves out, found by mutation testing). The error, line and column are what a user is shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FILE_BYTES, parseManifestText } from '../../src/sources/manifests/parse.js';

test('a rejected file says why, in which document, at which line and column', () => {
  const cases: [string, unknown][] = [
    ['a: 1\nb: [2\n', { ok: false, error: 'Flow sequence in block collection must be sufficiently indented and end with a ]', line: 3, column: 1 }],
    ['kind: X\n---\nkind: Y\n  bad: indent\n', { ok: false, error: 'Nested mappings are not allowed in compact mappings', line: 3, column: 7 }],
    ['kind: A\n---\n- 1\n', { ok: false, error: 'document 2 is not an object', line: 2, column: 1 }],
    ['kind: A\n---\nkind: B\n---\n\n\nplain scalar\n', { ok: false, error: 'document 3 is not an object', line: 4, column: 1 }],
    ['apiVersion: v1\n', { ok: false, error: 'document 1 has no kind', line: 1, column: 1 }],
    ['kind: ""\n', { ok: false, error: 'document 1 has no kind', line: 1, column: 1 }],
    ['---\nkind: List\n', { ok: false, error: 'document 1 is a List without items', line: 1, column: 1 }],
    ['kind: List\nitems: [{kind: A}, 3]\n', { ok: false, error: 'document 1 item 1 is not an object', line: 1, column: 1 }],
    // JSON takes its own fast path; a JSON object without a kind is refused all the same.
    ['{"apiVersion": "v1"}', { ok: false, error: 'document 1 has no kind', line: 1, column: 1 }],
    ['  [{"kind": "A"}, 2]', { ok: false, error: 'document 1 is not an object', line: 1, column: 1 }],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseManifestText(text), want, JSON.stringify(text));
});

test('typed lists (ServiceList, IngressList), as kubectl get -o yaml writes them, are flattened like List', () => {
  const r = parseManifestText('kind: ServiceList\nitems:\n- {kind: Service, metadata: {name: a}}\n---\n{"kind": "IngressList", "items": [{"kind": "Ingress", "metadata": {"name": "b"}}]}\n');
  assert.deepEqual(r, { ok: true, objects: [{ kind: 'Service', metadata: { name: 'a' } }, { kind: 'Ingress', metadata: { name: 'b' } }] });
  const json = parseManifestText('{"kind": "List", "items": [{"kind": "Secret"}]}');
  assert.deepEqual(json, { ok: true, objects: [{ kind: 'Secret' }] });
  // A kind that merely starts with "List" is an object like any other.
  assert.deepEqual(parseManifestText('kind: Listener\n'), { ok: true, objects: [{ kind: 'Listener' }] });
});

test('a file of exactly the size limit is read; one character more is refused', () => {
  const atLimit = `#${'x'.repeat(MAX_FILE_BYTES - 1)}`;
  assert.deepEqual(parseManifestText(atLimit), { ok: true, objects: [] });
  assert.deepEqual(parseManifestText(`${atLimit}x`), { ok: false, error: `file is larger than ${MAX_FILE_BYTES} bytes` });
});

test('aliases that expand past the fast parser’s budget but within the alias limit still parse, empty documents skipped', () => {
  const ones = Array.from({ length: 200 }, () => '1').join(', ');
  const uses = Array.from({ length: 60 }, () => '*a').join(', ');
  // A repeated key (the last one wins, as with kubectl) must not make the slow parser refuse the file either.
  const text = `kind: ConfigMap\ndata:\n  a: &a [${ones}]\n  b: [${uses}]\n---\n---\nkind: Secret\nkind: Secret\n`;
  const r = parseManifestText(text);
  assert.ok(r.ok, JSON.stringify(r).slice(0, 300));
  assert.equal(r.objects.length, 2);
  assert.equal(r.objects[1]!.kind, 'Secret');
  const data = r.objects[0]!.data as { a: number[]; b: number[][] };
  assert.equal(data.b.length, 60);
  assert.ok(data.b.every((l) => l.length === 200 && l.every((n) => n === 1)));
});

test('an alias bomb is refused with the document it is in', () => {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 12; i++) {
    const [prev, name] = [String.fromCharCode(97 + i), String.fromCharCode(98 + i)];
    lines.push(`${name}: &${name} [*${prev},*${prev},*${prev},*${prev}]`);
  }
  const text = `kind: Secret\n---\nkind: ConfigMap\ndata:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
  assert.deepEqual(parseManifestText(text), { ok: false, error: 'document 2: Excessive alias count indicates a resource exhaustion attack', line: 2, column: 1 });
});

test('YAML merge keys (`<<: *anchor`, as charts share annotations) merge as kubectl reads them, in both parsers', () => {
  const text = 'kind: Ingress\nmetadata:\n  name: a\n  labels: &common {team: shop, tier: web}\n  annotations:\n    <<: *common\n    tier: api\n    "<<": quoted\n';
  const want = { kind: 'Ingress', metadata: { name: 'a', labels: { team: 'shop', tier: 'web' }, annotations: { team: 'shop', tier: 'api', '<<': 'quoted' } } };
  assert.deepEqual(parseManifestText(text), { ok: true, objects: [want] });
  // An anchor the fast parser will not expand (its budget) goes to the slow one, which must merge alike.
  const wide = `kind: A\nx: &big [${Array.from({ length: 3000 }, (_, i) => i).join(', ')}]\ny: [${Array.from({ length: 30 }, () => '*big').join(', ')}]\nm: &m {a: 1}\nn: {<<: *m, b: 2}\n`;
  const r = parseManifestText(wide);
  assert.ok(r.ok);
  assert.deepEqual((r.objects[0] as { n: unknown }).n, { a: 1, b: 2 });
});

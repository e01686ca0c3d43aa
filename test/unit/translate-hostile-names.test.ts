// translate must never throw, whatever a field holds: a throw stops every sync, not just the bad object's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';

test('a Service whose name is an object that cannot be turned into a string is translated without a throw', () => {
  // YAML can write such an object: its toString and valueOf are strings, not functions.
  const parsed = parseManifestText('apiVersion: v1\nkind: Service\nmetadata:\n  name: { toString: a, valueOf: b }\n  namespace: default\nspec: {}\n');
  assert.ok(parsed.ok);
  const objects = [...parsed.objects, { apiVersion: 'v1', kind: 'Service', metadata: { name: Object.create(null) as object, namespace: 'other' }, spec: {} }];
  const { snapshot } = snapshotFromFiles(new Map([['f.yaml', objects]]));
  const r = translate(snapshot, { controllerName: 'c', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true });
  assert.deepEqual(r.model.backends, []);
});

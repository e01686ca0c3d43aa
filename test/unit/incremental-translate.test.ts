// The incremental Translator must give exactly what a fresh translate gives for the same snapshot, whatever path of
// changes led there. The objects come from every golden case (they cover every rule); each step moves to another
// case's objects, keeps some objects as the same references (the cache path) and edits copies of others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { Translator, translate } from '../../src/translate/translate.js';
import { KIND_FIELDS } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { serializeResult } from '../../src/model/serialize.js';

const GOLDEN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'test', 'golden');
const OPTIONS: TranslateOptions = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };
type Obj = Record<string, unknown>;

function caseSnapshots(): Snapshot[] {
  return readdirSync(GOLDEN)
    .filter((d) => existsSync(join(GOLDEN, d, 'in.yaml')) && !existsSync(join(GOLDEN, d, 'options.json')))
    .sort()
    .map((d) => {
      const parsed = parseManifestText(readFileSync(join(GOLDEN, d, 'in.yaml'), 'utf8'));
      assert.ok(parsed.ok, d);
      return snapshotFromFiles(new Map([[d, parsed.objects]])).snapshot;
    });
}

/** A deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}


/** Mixes two snapshots: some objects kept by reference, some dropped, some edited copies (new identity). */
function mix(a: Snapshot, b: Snapshot, r: () => number): Snapshot {
  const out = {} as Snapshot;
  for (const kind of KIND_FIELDS) {
    // A kind nothing touched comes as the very list the last snapshot had, as both sources hand it over.
    if (r() < 0.2) {
      out[kind] = a[kind];
      continue;
    }
    const byKey = new Map<string, Obj>();
    const key = (o: Obj): string => JSON.stringify([(o.metadata as Obj | undefined)?.namespace, (o.metadata as Obj | undefined)?.name]);
    for (const o of [...a[kind], ...b[kind]]) {
      const roll = r();
      if (roll < 0.15) continue;
      if (roll < 0.3) byKey.set(key(o), structuredClone(o));
      else byKey.set(key(o), o);
    }
    out[kind] = [...byKey.values()];
  }
  return out;
}

test('incremental translate equals a fresh translate after every change', () => {
  const cases = caseSnapshots();
  assert.ok(cases.length > 20);
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const t = new Translator(OPTIONS);
    let current = cases[0]!;
    for (let step = 0; step < 60; step++) {
      const next = cases[Math.floor(r() * cases.length)]!;
      current = r() < 0.5 ? mix(current, next, r) : r() < 0.5 ? next : mix(next, next, r);
      const got = serializeResult(t.update(current));
      assert.equal(got, serializeResult(translate(current, OPTIONS)), `seed ${seed}, step ${step}`);
    }
  }
});

test('an unchanged part of the model keeps its identity; an EndpointSlice change touches only its backend', () => {
  const parsed = parseManifestText(`
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: a}
spec: {rules: [{host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: b}
spec: {rules: [{host: b.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}]}}]}
---
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a-1, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.2]}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: b-1, labels: {kubernetes.io/service-name: b}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.3]}]
`);
  assert.ok(parsed.ok);
  const snap = snapshotFromFiles(new Map([['f', parsed.objects]])).snapshot;
  const t = new Translator(OPTIONS);
  const first = t.update(snap).model;
  const sliceA = snap.endpointSlices[0]!;
  const moved = { ...sliceA, endpoints: [{ addresses: ['127.0.0.4'] }] };
  const second = t.update({ ...snap, endpointSlices: [moved, snap.endpointSlices[1]!] }).model;
  assert.equal(second.hostGroups, first.hostGroups, 'routes are untouched by an endpoint change');
  assert.notEqual(second.backends[0], first.backends[0]);
  assert.deepEqual(second.backends[0]!.servers.map((s) => s.address), ['127.0.0.4']);
  assert.equal(second.backends[1], first.backends[1], 'the other backend keeps its identity');
  const third = t.update({ ...snap, endpointSlices: [moved, snap.endpointSlices[1]!] }).model;
  assert.equal(third.backends, second.backends);
});

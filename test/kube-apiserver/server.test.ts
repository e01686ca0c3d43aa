// Self-test of the stand-in kube-apiserver: the protocol details Portico's Kubernetes source relies on, each fault,
// and a real kubectl against it. When these fail, failures of tests built on the stand-in say nothing about Portico.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiError } from './api-errors.js';
import { WatchReader, call } from './http-client.js';
import type { Reply } from './http-client.js';
import { startApiServer } from './server.js';
import type { ApiServer, ObjectInput } from './server.js';

const run = promisify(execFile);
const ING = '/apis/networking.k8s.io/v1/namespaces/default/ingresses';

function ingress(name: string, host = `${name}.test`, extra: Record<string, unknown> = {}): ObjectInput {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'default', ...extra },
    spec: { ingressClassName: 'portico', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  };
}

function slice(name: string, service: string, ip: string): ObjectInput {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8080 }],
  };
}

type Json = Record<string, unknown>;

function obj(r: Reply): Json {
  assert.ok(r.json && typeof r.json === 'object', `expected a JSON object, got ${r.status} ${r.text.slice(0, 200)}`);
  return r.json as Json;
}

function meta(o: unknown): Json {
  return ((o as Json).metadata ?? {}) as Json;
}

function items(r: Reply): Json[] {
  return (obj(r).items ?? []) as Json[];
}

function names(list: Json[]): string[] {
  return list.map((o) => String(meta(o).name));
}

function assertStatus(r: Reply, code: number, reason: string): Json {
  assert.equal(r.status, code, r.text);
  const s = obj(r);
  assert.equal(s.kind, 'Status');
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.reason, reason);
  assert.equal(s.code, code);
  assert.equal(typeof s.message, 'string');
  return s;
}

describe('list, watch and writes', { timeout: 60_000 }, () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer({ bookmarkIntervalMs: 100, historyLimit: 50 });
  });
  after(async () => {
    await api.close();
  });

  test('discovery documents', async () => {
    const v = obj(await call(api, 'GET', '/version'));
    assert.equal(v.major, '1');
    assert.deepEqual(obj(await call(api, 'GET', '/api')).versions, ['v1']);
    const groups = (obj(await call(api, 'GET', '/apis')).groups as Json[]).map((g) => g.name);
    assert.deepEqual(groups.sort(), ['coordination.k8s.io', 'discovery.k8s.io', 'networking.k8s.io']);
    const res = obj(await call(api, 'GET', '/apis/networking.k8s.io/v1')).resources as Json[];
    const ing = res.find((r) => r.name === 'ingresses');
    assert.equal(ing?.namespaced, true);
    assert.equal(ing?.kind, 'Ingress');
    assert.ok((ing?.verbs as string[]).includes('watch'));
    assert.deepEqual(res.find((r) => r.name === 'ingresses/status')?.verbs, ['get', 'patch', 'update']);
    assert.equal(res.find((r) => r.name === 'ingressclasses')?.namespaced, false);
    // Aggregated discovery is not served: the plain document, as JSON, is the signal to fall back.
    const agg = await call(api, 'GET', '/api', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.equal(agg.headers['content-type'], 'application/json');
    assert.equal(obj(agg).kind, 'APIVersions');
  });

  test('objects get resourceVersion, uid, creationTimestamp and generation; errors are Status objects', async () => {
    const created = await call(api, 'POST', ING, { body: ingress('meta') });
    assert.equal(created.status, 201);
    const m = meta(obj(created));
    assert.match(String(m.resourceVersion), /^\d+$/);
    assert.match(String(m.uid), /^[0-9a-f-]{36}$/);
    assert.match(String(m.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(m.generation, 1);
    assert.equal(m.namespace, 'default', 'namespace defaults from the path');
    assert.deepEqual(obj(created).status, { loadBalancer: {} });

    const dup = assertStatus(await call(api, 'POST', ING, { body: ingress('meta') }), 409, 'AlreadyExists');
    assert.equal(dup.message, 'ingresses.networking.k8s.io "meta" already exists');
    assert.deepEqual(dup.details, { name: 'meta', group: 'networking.k8s.io', kind: 'ingresses' });

    const missing = assertStatus(await call(api, 'GET', `${ING}/nope`), 404, 'NotFound');
    assert.equal(missing.message, 'ingresses.networking.k8s.io "nope" not found');
    const svc = assertStatus(await call(api, 'GET', '/api/v1/namespaces/default/services/nope'), 404, 'NotFound');
    assert.equal(svc.message, 'services "nope" not found');
    assert.deepEqual(svc.details, { name: 'nope', kind: 'services' });

    const ghost = { ...ingress('x'), metadata: { name: 'x' } };
    const noNs = assertStatus(await call(api, 'POST', '/apis/networking.k8s.io/v1/namespaces/ghost/ingresses', { body: ghost }), 404, 'NotFound');
    assert.equal(noNs.message, 'namespaces "ghost" not found');
  });

  test('409 Conflict on a stale resourceVersion; an unconditional update succeeds', async () => {
    const v1 = obj(await call(api, 'POST', ING, { body: ingress('conflict') }));
    const v2 = obj(await call(api, 'PUT', `${ING}/conflict`, { body: { ...v1, spec: { ...(v1.spec as Json), ingressClassName: 'other' } } }));
    assert.ok(Number(meta(v2).resourceVersion) > Number(meta(v1).resourceVersion));
    assert.equal(meta(v2).generation, 2, 'spec changed: generation bumps');
    const stale = assertStatus(await call(api, 'PUT', `${ING}/conflict`, { body: v1 }), 409, 'Conflict');
    assert.equal(
      stale.message,
      'Operation cannot be fulfilled on ingresses.networking.k8s.io "conflict": the object has been modified; please apply your changes to the latest version and try again',
    );
    const stalePatch = await call(api, 'PATCH', `${ING}/conflict`, { body: { metadata: { resourceVersion: meta(v1).resourceVersion } }, contentType: 'application/merge-patch+json' });
    assertStatus(stalePatch, 409, 'Conflict');
    const { resourceVersion: _rv, ...noRv } = meta(v1);
    const uncond = await call(api, 'PUT', `${ING}/conflict`, { body: { ...v1, metadata: noRv } });
    assert.equal(uncond.status, 200);
    // The test helpers go through the same checks.
    assert.throws(() => api.update({ ...v1 }), (e: unknown) => e instanceof ApiError && e.code === 409);
  });

  test('a no-op update writes nothing: same resourceVersion', async () => {
    const v1 = obj(await call(api, 'POST', ING, { body: ingress('noop') }));
    const v2 = obj(await call(api, 'PUT', `${ING}/noop`, { body: v1 }));
    assert.equal(meta(v2).resourceVersion, meta(v1).resourceVersion);
  });

  test('/status merge patch leaves spec alone, and a main-resource write leaves status alone', async () => {
    const v1 = obj(await call(api, 'POST', ING, { body: ingress('split') }));
    const patched = obj(
      await call(api, 'PATCH', `${ING}/split/status`, {
        body: { spec: { ingressClassName: 'hijacked' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } },
        contentType: 'application/merge-patch+json',
      }),
    );
    assert.equal((patched.spec as Json).ingressClassName, 'portico');
    assert.deepEqual(patched.status, { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } });
    assert.equal(meta(patched).generation, 1, 'status changes do not bump generation');
    assert.ok(Number(meta(patched).resourceVersion) > Number(meta(v1).resourceVersion));

    const specPatch = obj(
      await call(api, 'PATCH', `${ING}/split`, {
        body: { spec: { ingressClassName: 'changed' }, status: { loadBalancer: { ingress: [{ ip: '198.51.100.9' }] } } },
        contentType: 'application/merge-patch+json',
      }),
    );
    assert.equal((specPatch.spec as Json).ingressClassName, 'changed');
    assert.deepEqual(specPatch.status, { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } });
    assert.equal(meta(specPatch).generation, 2);

    const put = obj(await call(api, 'PUT', `${ING}/split`, { body: { ...specPatch, status: {} } }));
    assert.deepEqual(put.status, { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } });
  });

  test('JSON patch (RFC 6902) and strategic merge patch', async () => {
    await call(api, 'POST', ING, { body: ingress('jp') });
    const jp = obj(
      await call(api, 'PATCH', `${ING}/jp`, {
        body: [
          { op: 'test', path: '/spec/ingressClassName', value: 'portico' },
          { op: 'add', path: '/metadata/labels', value: { a: 'b' } },
          { op: 'replace', path: '/spec/rules/0/host', value: 'patched.test' },
        ],
        contentType: 'application/json-patch+json',
      }),
    );
    assert.deepEqual(meta(jp).labels, { a: 'b' });
    assert.equal(((jp.spec as Json).rules as Json[])[0]?.host, 'patched.test');
    const failed = await call(api, 'PATCH', `${ING}/jp`, { body: [{ op: 'test', path: '/spec/ingressClassName', value: 'nope' }], contentType: 'application/json-patch+json' });
    assertStatus(failed, 422, 'Invalid');
    const jpStatus = obj(
      await call(api, 'PATCH', `${ING}/jp/status`, { body: [{ op: 'add', path: '/status/loadBalancer/ingress', value: [{ hostname: 'lb.test' }] }], contentType: 'application/json-patch+json' }),
    );
    assert.deepEqual(jpStatus.status, { loadBalancer: { ingress: [{ hostname: 'lb.test' }] } });

    const svc = obj(
      await call(api, 'POST', '/api/v1/namespaces/default/services', {
        body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'smp' }, spec: { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }] } },
      }),
    );
    assert.match(String((svc.spec as Json).clusterIP), /^10\.96\./);
    const smp = obj(
      await call(api, 'PATCH', '/api/v1/namespaces/default/services/smp', {
        body: { spec: { '$setElementOrder/ports': [{ port: 80 }, { port: 81 }], ports: [{ port: 81, targetPort: 9000 }] } },
        contentType: 'application/strategic-merge-patch+json',
      }),
    );
    const ports = (smp.spec as Json).ports as Json[];
    assert.deepEqual(
      ports.map((p) => [p.port, p.targetPort]),
      [
        [80, 80],
        [81, 9000],
      ],
      'ports merge by their key',
    );
  });

  test('list: items without kind/apiVersion, paging from one snapshot, remainingItemCount, expired continue', async () => {
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: n, namespace: 'paging' }, stringData: { k: n } });
    const base = '/api/v1/namespaces/paging/secrets';
    const page1 = await call(api, 'GET', `${base}?limit=2`);
    const l1 = obj(page1);
    assert.equal(l1.kind, 'SecretList');
    assert.equal(l1.apiVersion, 'v1');
    assert.equal(meta(l1).resourceVersion, api.resourceVersion);
    assert.equal(meta(l1).remainingItemCount, 3);
    assert.deepEqual(names(items(page1)), ['p1', 'p2']);
    for (const it of items(page1)) {
      assert.equal(it.kind, undefined);
      assert.equal(it.apiVersion, undefined);
    }
    assert.deepEqual((items(page1)[0]?.data as Json).k, Buffer.from('p1').toString('base64'), 'stringData lands in data');

    // Changes after the first page do not show in later pages: they come from the same snapshot.
    api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'p0', namespace: 'paging' } });
    api.remove('v1', 'Secret', 'paging', 'p4');
    const page2 = await call(api, 'GET', `${base}?limit=2&continue=${encodeURIComponent(String(meta(l1).continue))}`);
    assert.deepEqual(names(items(page2)), ['p3', 'p4']);
    assert.equal(meta(obj(page2)).resourceVersion, meta(l1).resourceVersion);
    const page3 = await call(api, 'GET', `${base}?limit=2&continue=${encodeURIComponent(String(meta(obj(page2)).continue))}`);
    assert.deepEqual(names(items(page3)), ['p5']);
    assert.equal(meta(obj(page3)).continue, undefined);

    // An expired continue token: 410 Expired, with an inconsistent token that continues at the latest state.
    const againReply = await call(api, 'GET', `${base}?limit=2`);
    const again = obj(againReply);
    api.faults.expireContinue();
    const gone = assertStatus(await call(api, 'GET', `${base}?limit=2&continue=${encodeURIComponent(String(meta(again).continue))}`), 410, 'Expired');
    assert.match(String(gone.message), /^The provided continue parameter is too old to display a consistent list result/);
    const inconsistent = String(meta(gone).continue);
    assert.ok(inconsistent);
    const rest = await call(api, 'GET', `${base}?limit=10&continue=${encodeURIComponent(inconsistent)}`);
    assert.deepEqual(names(items(againReply)), ['p0', 'p1']);
    assert.deepEqual(names(items(rest)), ['p2', 'p3', 'p5']);

    // Compaction expires old tokens too.
    const before = obj(await call(api, 'GET', `${base}?limit=1`));
    api.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'p9', namespace: 'paging' } });
    api.faults.compact();
    assertStatus(await call(api, 'GET', `${base}?limit=1&continue=${encodeURIComponent(String(meta(before).continue))}`), 410, 'Expired');

    // resourceVersion=0 is served from the watch cache, which ignores limit.
    assert.equal(items(await call(api, 'GET', `${base}?limit=1&resourceVersion=0`)).length, 6);
    assertStatus(await call(api, 'GET', `${base}?resourceVersion=999999`), 504, 'Timeout');
  });

  test('label and field selectors', async () => {
    api.create(slice('web-a', 'web', '10.0.0.1'));
    api.create(slice('web-b', 'web', '10.0.0.2'));
    api.create(slice('api-a', 'api', '10.0.0.3'));
    const sel = await call(api, 'GET', `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent('kubernetes.io/service-name=web')}`);
    assert.deepEqual(names(items(sel)), ['web-a', 'web-b']);
    const q = (s: string): Promise<Reply> => call(api, 'GET', `/apis/discovery.k8s.io/v1/endpointslices?labelSelector=${encodeURIComponent(s)}`);
    assert.deepEqual(names(items(await q('kubernetes.io/service-name!=web'))), ['api-a']);
    assert.deepEqual(names(items(await q('kubernetes.io/service-name in (api, nothing)'))), ['api-a']);
    assert.deepEqual(names(items(await q('!kubernetes.io/service-name'))), []);
    assert.deepEqual(names(items(await q('kubernetes.io/service-name'))).length, 3);
    assertStatus(await q('a b c'), 400, 'BadRequest');

    const byName = await call(api, 'GET', `/apis/discovery.k8s.io/v1/endpointslices?fieldSelector=${encodeURIComponent('metadata.name=web-b,metadata.namespace=default')}`);
    assert.deepEqual(names(items(byName)), ['web-b']);
    const bad = assertStatus(await call(api, 'GET', `/apis/discovery.k8s.io/v1/endpointslices?fieldSelector=spec.foo%3Dx`), 400, 'BadRequest');
    assert.equal(bad.message, 'field label not supported: spec.foo');

    const event = (name: string, about: string): ObjectInput => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Ingress', name: about, namespace: 'default', apiVersion: 'networking.k8s.io/v1' },
      reason: 'Sync',
      message: `about ${about}`,
      type: 'Normal',
    });
    api.create(event('e1', 'site'));
    api.create(event('e2', 'other'));
    const ev = await call(api, 'GET', `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent('involvedObject.name=site,involvedObject.namespace=default')}`);
    assert.deepEqual(names(items(ev)), ['e1']);

    // legacyValidateEvent: an Event lives in its object's namespace; about a cluster-scoped object, in "default".
    const elsewhere = { ...event('e3', 'site'), metadata: { name: 'e3' } };
    api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    const wrongNs = assertStatus(await call(api, 'POST', '/api/v1/namespaces/other/events', { body: elsewhere }), 422, 'Invalid');
    assert.equal(wrongNs.message, 'Event "e3" is invalid: involvedObject.namespace: Invalid value: "default": does not match event.namespace');
    const clusterScoped = { ...elsewhere, involvedObject: { kind: 'IngressClass', name: 'portico', apiVersion: 'networking.k8s.io/v1' } };
    assertStatus(await call(api, 'POST', '/api/v1/namespaces/other/events', { body: clusterScoped }), 422, 'Invalid');
    assert.equal((await call(api, 'POST', '/api/v1/namespaces/default/events', { body: clusterScoped })).status, 201);
  });

  test('watch from a resourceVersion: create, update, delete in order with increasing resourceVersions', async () => {
    const start = api.resourceVersion;
    const w = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${start}`);
    assert.equal(w.status, 200);
    api.create(ingress('w1'));
    const cur = api.get('networking.k8s.io/v1', 'Ingress', 'default', 'w1');
    assert.ok(cur);
    api.update({ ...cur, metadata: { ...cur.metadata, labels: { v: '2' } } });
    api.remove('networking.k8s.io/v1', 'Ingress', 'default', 'w1');
    await w.until(() => w.changes().length >= 3, 5000, 'three events');
    const evs = w.changes();
    assert.deepEqual(
      evs.map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    const rvs = evs.map((e) => Number(e.object.metadata?.resourceVersion));
    assert.ok(rvs.every((rv, i) => i === 0 || rv > (rvs[i - 1] ?? 0)), `increasing: ${rvs.join(',')}`);
    assert.ok((rvs[0] ?? 0) > Number(start));
    for (const e of evs) {
      assert.equal(e.object.kind, 'Ingress');
      assert.equal(e.object.apiVersion, 'networking.k8s.io/v1');
    }
    assert.deepEqual(evs[2]?.object.metadata?.labels, { v: '2' }, 'DELETED carries the last state');
    assert.equal(String(evs[2]?.object.metadata?.resourceVersion), api.resourceVersion, 'with the deletion resourceVersion');
    w.close();

    // Replay: a watch from the same start sees the same history.
    const replay = await WatchReader.open(api, `${ING}?watch=true&resourceVersion=${start}`);
    await replay.until(() => replay.changes().length >= 3);
    assert.deepEqual(
      replay.changes().map((e) => e.type),
      ['ADDED', 'MODIFIED', 'DELETED'],
    );
    replay.close();

    // No resourceVersion: synthetic ADDED events for what exists now.
    const fresh = await WatchReader.open(api, `${ING}?watch=true&fieldSelector=metadata.name%3Dsplit`);
    await fresh.until(() => fresh.changes().length >= 1);
    assert.equal(fresh.changes()[0]?.type, 'ADDED');
    assert.equal(fresh.changes()[0]?.object.metadata?.name, 'split');
    fresh.close();
  });

  test('a watch with a selector sees objects enter (ADDED) and leave (DELETED) the selection', async () => {
    api.create(slice('moving', 'one', '10.1.0.1'));
    const w = await WatchReader.open(api, `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=1&resourceVersion=${api.resourceVersion}&labelSelector=kubernetes.io%2Fservice-name%3Dtwo`);
    const cur = api.get('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'moving');
    assert.ok(cur);
    api.update({ ...cur, metadata: { ...cur.metadata, labels: { 'kubernetes.io/service-name': 'two' } } });
    const moved = api.get('discovery.k8s.io/v1', 'EndpointSlice', 'default', 'moving');
    assert.ok(moved);
    api.update({ ...moved, metadata: { ...moved.metadata, labels: { 'kubernetes.io/service-name': 'three' } } });
    await w.until(() => w.changes().length >= 2);
    assert.deepEqual(
      w.changes().map((e) => e.type),
      ['ADDED', 'DELETED'],
    );
    assert.deepEqual(w.changes()[1]?.object.metadata?.labels, { 'kubernetes.io/service-name': 'two' }, 'DELETED shows the last state that matched');
    w.close();
  });

  test('bookmarks arrive, and the watch ends cleanly at timeoutSeconds with a last bookmark', async () => {
    const w = await WatchReader.open(api, `${ING}?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${api.resourceVersion}`);
    await w.until(() => w.ended !== undefined, 5000, 'the timeout');
    assert.equal(w.ended, 'clean');
    const marks = w.events.filter((e) => e.type === 'BOOKMARK');
    assert.ok(marks.length >= 3, `periodic bookmarks (100 ms) plus the last one: ${marks.length}`);
    const b = marks[0]?.object;
    assert.equal(b?.kind, 'Ingress');
    assert.equal(b?.apiVersion, 'networking.k8s.io/v1');
    assert.deepEqual(Object.keys(b ?? {}).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.equal(b?.metadata?.resourceVersion, api.resourceVersion);
    assert.equal(w.events[w.events.length - 1]?.type, 'BOOKMARK');

    const none = await WatchReader.open(api, `${ING}?watch=1&timeoutSeconds=1&resourceVersion=${api.resourceVersion}`);
    await none.until(() => none.ended !== undefined);
    assert.equal(none.events.length, 0, 'no bookmarks unless asked for');
  });

  test('a watch from a compacted resourceVersion gets one 410 ERROR event and the stream ends', async () => {
    const old = api.resourceVersion;
    api.create(ingress('compacted'));
    api.faults.compact();
    const w = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${old}`);
    assert.equal(w.status, 200);
    await w.until(() => w.ended !== undefined);
    assert.equal(w.ended, 'clean');
    assert.equal(w.events.length, 1);
    const e = w.events[0];
    assert.equal(e?.type, 'ERROR');
    assert.deepEqual(e?.object, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `too old resource version: ${old} (${api.resourceVersion})`,
      reason: 'Expired',
      code: 410,
    });
    // From the current resourceVersion it works.
    const ok = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}&allowWatchBookmarks=true`);
    await ok.until(() => ok.events.some((x) => x.type === 'BOOKMARK'));
    ok.close();
  });

  test('configmaps: list with resourceVersion, a data change through the watch, bookmarks, 410 from a compacted version, validation of keys', async () => {
    const CM = '/api/v1/namespaces/default/configmaps';
    api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'headers', namespace: 'default' }, data: { 'X-Frame-Options': 'DENY' } });
    const list = obj(await call(api, 'GET', CM));
    assert.equal(list.kind, 'ConfigMapList');
    assert.deepEqual(names(items(await call(api, 'GET', CM))), ['headers']);
    const rv = String(meta(list).resourceVersion);
    assert.match(rv, /^\d+$/);
    const w = await WatchReader.open(api, `${CM}?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true`);
    const cur = api.get('v1', 'ConfigMap', 'default', 'headers')!;
    api.update({ ...cur, data: { 'X-Frame-Options': 'SAMEORIGIN' } });
    await w.until(() => w.changes().length >= 1 && w.events.some((e) => e.type === 'BOOKMARK'), 5000, 'the change and a bookmark');
    const e = w.changes()[0]!;
    assert.equal(e.type, 'MODIFIED');
    assert.equal(e.object.kind, 'ConfigMap');
    assert.deepEqual((e.object as Json).data, { 'X-Frame-Options': 'SAMEORIGIN' });
    w.close();
    api.faults.compact();
    const old = await WatchReader.open(api, `${CM}?watch=1&resourceVersion=${rv}`);
    await old.until(() => old.ended !== undefined);
    assert.equal(old.events[0]?.object.code, 410);
    const bad = await call(api, 'POST', CM, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bad' }, data: { 'a b': 'x' } } });
    assert.equal(bad.status, 422, bad.text);
    assert.match(bad.text, /a valid config key must consist of alphanumeric characters/);
  });

  test('the bounded history: old resourceVersions expire once events are evicted', async () => {
    const old = api.resourceVersion;
    for (let i = 0; i < 60; i++) api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: `l${i}`, namespace: 'default' }, spec: {} });
    const w = await WatchReader.open(api, `/apis/coordination.k8s.io/v1/namespaces/default/leases?watch=1&resourceVersion=${old}`);
    await w.until(() => w.ended !== undefined);
    assert.equal(w.events[0]?.type, 'ERROR');
    assert.equal(w.events[0]?.object.code, 410);
  });
});

describe('leases', { timeout: 30_000 }, () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer({ tls: false });
  });
  after(async () => {
    await api.close();
  });

  test('leader election works by optimistic concurrency', async () => {
    const path = '/apis/coordination.k8s.io/v1/namespaces/default/leases';
    const spec = { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: '2024-01-01T00:00:00.000000Z', renewTime: '2024-01-01T00:00:00.000000Z', leaseTransitions: 0 };
    const created = obj(await call(api, 'POST', path, { body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec } }));
    assert.deepEqual(created.spec, spec);
    const renewA = await call(api, 'PUT', `${path}/leader`, { body: { ...created, spec: { ...spec, renewTime: '2024-01-01T00:00:05.000000Z' } } });
    assert.equal(renewA.status, 200);
    // B read the lease before A's renewal: its takeover must fail.
    const takeoverB = await call(api, 'PUT', `${path}/leader`, { body: { ...created, spec: { ...spec, holderIdentity: 'b', leaseTransitions: 1 } } });
    assertStatus(takeoverB, 409, 'Conflict');
    assert.equal((obj(await call(api, 'GET', `${path}/leader`)).spec as Json).holderIdentity, 'a');
  });
});

describe('authentication and RBAC', { timeout: 30_000 }, () => {
  let api: ApiServer;
  let dir: string;
  const TOKEN = 'sa-token';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kube-apiserver-rbac-'));
    const rbac = join(dir, 'rbac.yaml');
    await writeFile(
      rbac,
      [
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRole',
        'metadata: {name: reader}',
        'rules:',
        '- apiGroups: [networking.k8s.io]',
        '  resources: [ingresses]',
        '  verbs: [get, list, watch]',
        '- apiGroups: [networking.k8s.io]',
        '  resources: [ingresses/status]',
        '  verbs: [patch]',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: ClusterRoleBinding',
        'metadata: {name: reader}',
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}',
        'subjects: [{kind: ServiceAccount, name: portico, namespace: system}]',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: Role',
        'metadata: {name: leases, namespace: system}',
        'rules:',
        '- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update]}',
        '---',
        'apiVersion: rbac.authorization.k8s.io/v1',
        'kind: RoleBinding',
        'metadata: {name: leases, namespace: system}',
        'roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: leases}',
        'subjects: [{kind: ServiceAccount, name: portico, namespace: system}]',
        '',
      ].join('\n'),
    );
    api = await startApiServer({ token: TOKEN, rbac: { files: [rbac], serviceAccount: { namespace: 'system', name: 'portico' } } });
    api.create(ingress('site'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a bearer token is required: 401 Status without it or with a wrong one', async () => {
    for (const token of [undefined, 'wrong']) {
      const r = await call(api, 'GET', '/api', token ? { token } : {});
      const s = assertStatus(r, 401, 'Unauthorized');
      assert.equal(s.message, 'Unauthorized');
    }
    assert.equal((await call(api, 'GET', '/api', { token: TOKEN })).status, 200, 'discovery is open to any authenticated user');
    assert.equal((await call(api, 'GET', '/version', { token: TOKEN })).status, 200);
  });

  test('RBAC allows what the roles grant and refuses the rest with the real message', async () => {
    assert.equal((await call(api, 'GET', '/apis/networking.k8s.io/v1/ingresses', { token: TOKEN })).status, 200);
    assert.equal((await call(api, 'GET', `${ING}/site`, { token: TOKEN })).status, 200);
    const patchStatus = await call(api, 'PATCH', `${ING}/site/status`, { token: TOKEN, body: { status: { loadBalancer: { ingress: [{ ip: '192.0.2.5' }] } } }, contentType: 'application/merge-patch+json' });
    assert.equal(patchStatus.status, 200, patchStatus.text);

    const list = assertStatus(await call(api, 'GET', '/api/v1/services', { token: TOKEN }), 403, 'Forbidden');
    assert.equal(list.message, 'services is forbidden: User "system:serviceaccount:system:portico" cannot list resource "services" in API group "" at the cluster scope');
    const upd = assertStatus(await call(api, 'PATCH', `${ING}/site`, { token: TOKEN, body: { metadata: { labels: { a: 'b' } } }, contentType: 'application/merge-patch+json' }), 403, 'Forbidden');
    assert.equal(
      upd.message,
      'ingresses.networking.k8s.io "site" is forbidden: User "system:serviceaccount:system:portico" cannot patch resource "ingresses" in API group "networking.k8s.io" in the namespace "default"',
    );
    assert.deepEqual(upd.details, { name: 'site', group: 'networking.k8s.io', kind: 'ingresses' });

    // A Role grants only in its namespace.
    const leases = (ns: string): string => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`;
    const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader' }, spec: { holderIdentity: 'x' } };
    assert.equal((await call(api, 'POST', leases('system'), { token: TOKEN, body: lease })).status, 404, 'allowed; the namespace does not exist yet');
    api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'system' } });
    assert.equal((await call(api, 'POST', leases('system'), { token: TOKEN, body: lease })).status, 201);
    const elsewhere = assertStatus(await call(api, 'POST', leases('default'), { token: TOKEN, body: lease }), 403, 'Forbidden');
    assert.match(String(elsewhere.message), /cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "default"$/);
    assert.equal((await call(api, 'DELETE', `${leases('system')}/leader`, { token: TOKEN })).status, 403, 'delete was not granted');

    const denials = api.rbacDenials.map((d) => `${d.verb} ${d.resource} ${d.namespace}`);
    assert.deepEqual(denials, ['list services ', 'patch ingresses default', 'create leases default', 'delete leases system']);
    assert.ok(api.requests.some((r) => r.status === 403 && r.resource === 'services'));
    // The admin token is not subject to RBAC.
    assert.equal((await call(api, 'GET', '/api/v1/services', { token: api.adminToken })).status, 200);
  });
});

describe('faults', { timeout: 30_000 }, () => {
  let api: ApiServer;
  before(async () => {
    api = await startApiServer({ bookmarkIntervalMs: 50 });
  });
  after(async () => {
    await api.close();
  });

  test('closeWatches: a clean end of the chunked body', async () => {
    const w = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}`);
    assert.equal(api.faults.closeWatches(), 1);
    await w.until(() => w.ended !== undefined);
    assert.equal(w.ended, 'clean');
  });

  test('closeWatches abrupt: the connection is cut mid-stream', async () => {
    const w = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}`);
    api.faults.closeWatches({ abrupt: true });
    await w.until(() => w.ended !== undefined);
    assert.equal(w.ended, 'cut');
  });

  test('stallWatches: no events, no bookmarks until released; then the held events arrive', async () => {
    const release = api.faults.stallWatches('ingresses');
    const w = await WatchReader.open(api, `${ING}?watch=1&allowWatchBookmarks=true&resourceVersion=${api.resourceVersion}`);
    const other = await WatchReader.open(api, `/api/v1/services?watch=1&allowWatchBookmarks=true&resourceVersion=${api.resourceVersion}`);
    api.create(ingress('during-stall'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(w.events.length, 0);
    assert.equal(w.ended, undefined);
    assert.ok(other.events.some((e) => e.type === 'BOOKMARK'), 'other resources are unaffected');
    release();
    await w.until(() => w.changes().length === 1);
    assert.equal(w.changes()[0]?.object.metadata?.name, 'during-stall');
    w.close();
    other.close();
  });

  test('failNext 500 and 429 (with Retry-After), then normal service', async () => {
    api.faults.failNext(1, 500, { resource: 'ingresses', verb: 'list' });
    api.faults.failNext(1, 429, { resource: 'ingresses' });
    const svc = await call(api, 'GET', '/api/v1/services');
    assert.equal(svc.status, 200, 'other resources are unaffected');
    const first = assertStatus(await call(api, 'GET', ING), 500, 'InternalError');
    assert.equal(first.message, 'Internal error occurred: injected fault');
    const second = await call(api, 'GET', ING);
    const s = assertStatus(second, 429, 'TooManyRequests');
    assert.equal(second.headers['retry-after'], '1');
    assert.deepEqual(s.details, { retryAfterSeconds: 1 });
    assert.equal((await call(api, 'GET', ING)).status, 200);
    api.faults.failNext(1, 503, { verb: 'watch' });
    assertStatus(await call(api, 'GET', `${ING}?watch=1`), 503, 'ServiceUnavailable');
  });

  test('conflictNext: 409 on the next update or patch', async () => {
    api.create(ingress('contended'));
    api.faults.conflictNext(1, { resource: 'ingresses/status' });
    assert.equal((await call(api, 'GET', `${ING}/contended`)).status, 200, 'reads are not affected');
    const p = (): Promise<Reply> => call(api, 'PATCH', `${ING}/contended/status`, { body: { status: {} }, contentType: 'application/merge-patch+json' });
    assertStatus(await p(), 409, 'Conflict');
    assert.equal((await p()).status, 200);
  });

  test('stop() and start(): the port refuses meanwhile; the same URL, certificate and objects after; the watch cache starts over', async () => {
    api.create(ingress('kept'));
    const w = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}`);
    const cut = await WatchReader.open(api, `/api/v1/services?watch=1&resourceVersion=${api.resourceVersion}`);
    await api.stop();
    await w.until(() => w.ended !== undefined);
    assert.equal(w.ended, 'clean', 'a graceful stop ends watches cleanly');
    assert.equal(cut.ended, 'clean');
    await assert.rejects(call(api, 'GET', ING), /ECONNREFUSED/);
    const before = api.resourceVersion;
    // Written while the server is down, as through another API server: no watch of this one will ever replay it.
    api.create(ingress('while-down'));
    await api.start();
    assert.equal(api.running, true);
    assert.deepEqual(names(items(await call(api, 'GET', ING))).filter((n) => n === 'kept' || n === 'while-down'), ['kept', 'while-down']);
    const stale = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${before}`);
    await stale.until(() => stale.ended !== undefined);
    assert.equal(stale.events[0]?.type, 'ERROR');
    assert.equal(stale.events[0]?.object.code, 410, 'history from before the restart is gone');
    const now = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}`);
    api.create(ingress('after-restart'));
    await now.until(() => now.changes().length === 1);
    assert.equal(now.changes()[0]?.object.metadata?.name, 'after-restart');
    now.close();

    const crashed = await WatchReader.open(api, `${ING}?watch=1&resourceVersion=${api.resourceVersion}`);
    await api.stop({ abrupt: true });
    await crashed.until(() => crashed.ended !== undefined);
    assert.equal(crashed.ended, 'cut', 'a crash cuts watches mid-stream');
    await api.start();
  });

  test('a continue token survives a restart (etcd keeps its revisions)', async () => {
    for (const n of ['page-a', 'page-b', 'page-c']) api.create(ingress(n));
    const first = obj(await call(api, 'GET', `${ING}?limit=1`));
    const token = String(meta(first).continue);
    api.create(ingress('page-d'));
    await api.stop();
    await api.start();
    const rest = await call(api, 'GET', `${ING}?limit=100&continue=${encodeURIComponent(token)}`);
    assert.equal(rest.status, 200, rest.text);
    assert.ok(!names(items(rest)).includes('page-d'), 'the rest of the list is as of its first page');
  });

  test('delay: matching requests are slow', async () => {
    api.faults.delay(300, { verb: 'get', resource: 'ingresses', times: 1 });
    const t0 = Date.now();
    assert.equal((await call(api, 'GET', `${ING}/contended`)).status, 200);
    assert.ok(Date.now() - t0 >= 280, `took ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await call(api, 'GET', `${ING}/contended`);
    assert.ok(Date.now() - t1 < 250, 'only once');
    api.faults.clear();
  });
});

const KUBECTL = '/usr/bin/kubectl';

describe('kubectl against the stand-in', { skip: !existsSync(KUBECTL) && 'kubectl not installed', timeout: 120_000 }, () => {
  let api: ApiServer;
  let dir: string;
  let kubeconfig: string;
  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, KUBECACHEDIR: join(dir, 'cache') }, timeout: 30_000 });
    return stdout;
  }
  before(async () => {
    api = await startApiServer({ token: 'kubectl-token' });
    dir = await mkdtemp(join(tmpdir(), 'kube-apiserver-kubectl-'));
    kubeconfig = api.kubeconfig(join(dir, 'kubeconfig'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('create -f, get -o json, get (table with ADDRESS), delete', async () => {
    const file = join(dir, 'ingress.yaml');
    await writeFile(
      file,
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: Ingress',
        'metadata:',
        '  name: web',
        'spec:',
        '  ingressClassName: portico',
        '  tls: [{hosts: [web.example.com], secretName: web-tls}]',
        '  rules:',
        '  - host: web.example.com',
        '    http:',
        '      paths:',
        '      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}',
        '',
      ].join('\n'),
    );
    assert.match(await kubectl('create', '-f', file), /ingress.networking.k8s.io\/web created/);

    const json = JSON.parse(await kubectl('get', 'ingress', '-A', '-o', 'json')) as { items: Json[] };
    assert.deepEqual(names(json.items), ['web']);
    assert.equal(json.items[0]?.kind, 'Ingress', 'kubectl fills kind in from the list');

    api.patchStatus('networking.k8s.io/v1', 'Ingress', 'default', 'web', { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } });
    const table = await kubectl('get', 'ingress');
    const [header, row] = table.trim().split('\n');
    assert.deepEqual(header?.split(/\s{2,}/), ['NAME', 'CLASS', 'HOSTS', 'ADDRESS', 'PORTS', 'AGE']);
    assert.deepEqual(row?.split(/\s{2,}/).slice(0, 5), ['web', 'portico', 'web.example.com', '203.0.113.10', '80, 443']);
    assert.ok(api.requests.some((r) => r.verb === 'list' && r.accept.includes('as=Table')), 'kubectl asked for server-side printing');

    assert.match(await kubectl('delete', 'ingress', 'web'), /ingress.networking.k8s.io "web" deleted/);
    assert.equal(api.get('networking.k8s.io/v1', 'Ingress', 'default', 'web'), undefined);
    assert.deepEqual(
      api.requests.filter((r) => r.status >= 400 && r.status !== 404).map((r) => `${r.method} ${r.path} ${r.status}`),
      [],
    );
  });

  test('configmaps: create -f, get -o json, a refused key, delete', async () => {
    // kubectl's typed generators (`create configmap --from-literal`) send protobuf, which the stand-in does not speak.
    const file = join(dir, 'configmap.yaml');
    await writeFile(file, ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: headers}', 'data: {X-Frame-Options: DENY, X-Served-By: portico}', ''].join('\n'));
    assert.match(await kubectl('create', '-f', file), /configmap\/headers created/);
    const cm = JSON.parse(await kubectl('get', 'configmap', 'headers', '-o', 'json')) as Json;
    assert.deepEqual(cm.data, { 'X-Frame-Options': 'DENY', 'X-Served-By': 'portico' });
    assert.equal(cm.kind, 'ConfigMap');
    await writeFile(file, ['apiVersion: v1', 'kind: ConfigMap', 'metadata: {name: bad}', 'data: {"a b": x}', ''].join('\n'));
    await assert.rejects(kubectl('create', '-f', file), /a valid config key must consist of alphanumeric characters/);
    assert.match(await kubectl('delete', 'cm', 'headers'), /configmap "headers" deleted/);
  });
});

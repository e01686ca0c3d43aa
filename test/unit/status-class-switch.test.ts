// The status writer while an Ingress moves between ingress-nginx's class and Portico's (rules S2, S5), against the
// stand-in API server: Portico's address arrives with ownership and leaves with it, the old controller's address is
// never written over, and an Ingress that changed after it was judged (the race with the other controller) is left
// for the pass that judges its new version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { KubeClient } from '../../src/sources/kubernetes/client.js';
import { kubeconfigFile } from '../../src/sources/kubernetes/config.js';
import { StatusWriter } from '../../src/status/status-writer.js';
import { createLogger } from '../../src/log.js';

type Obj = Record<string, unknown>;
const PORTICO = [{ ip: '203.0.113.10' }];
const NGINX = [{ ip: '198.51.100.1' }];
const ING = 'networking.k8s.io/v1';

let api: ApiServer;
let client: KubeClient;

before(async () => {
  api = await startApiServer({ token: 'unused' });
  client = new KubeClient(kubeconfigFile(api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'portico-status-')), 'kubeconfig'), { user: 'admin' })));
});

after(async () => {
  client.close();
  await api.close();
});

const writer = (): StatusWriter => new StatusWriter(client, { publishAddresses: ['203.0.113.10'] }, createLogger('json', 'error', { fd: 2 }));
const get = (name: string): Obj => api.get(ING, 'Ingress', 'default', name) as Obj;
const addresses = (name: string): unknown => ((get(name).status as { loadBalancer?: { ingress?: unknown[] } } | undefined)?.loadBalancer?.ingress ?? []);

/** An Ingress of ingress-nginx's class carrying the address ingress-nginx wrote. */
function nginxIngress(name: string): void {
  api.create({ apiVersion: ING, kind: 'Ingress', metadata: { name, namespace: 'default' }, spec: { ingressClassName: 'nginx', defaultBackend: { service: { name: 'web', port: { number: 80 } } } } });
  api.patchStatus(ING, 'Ingress', 'default', name, { loadBalancer: { ingress: NGINX } });
}

function switchClass(name: string, className: string): void {
  const cur = get(name);
  api.update({ ...cur, spec: { ...(cur.spec as Obj), ingressClassName: className } });
}

const owned = (...names: string[]): Set<string> => new Set(names.map((n) => `default/${n}`));

void describe('status follows ownership across a class switch', () => {
  test('never owned: the old controller keeps its address', async () => {
    nginxIngress('untouched');
    const w = writer();
    assert.equal(await w.sync([get('untouched')], owned(), undefined), 0);
    assert.deepEqual(addresses('untouched'), NGINX);
  });

  test("moved to Portico: its address replaces ingress-nginx's; moved back: Portico clears what it wrote, and an address ingress-nginx writes afterwards stays", async () => {
    nginxIngress('moving');
    const w = writer();
    switchClass('moving', 'portico');
    assert.equal(await w.sync([get('moving')], owned('moving'), undefined), 1);
    assert.deepEqual(addresses('moving'), PORTICO);
    switchClass('moving', 'nginx');
    assert.equal(await w.sync([get('moving')], owned(), undefined), 1);
    assert.deepEqual(addresses('moving'), []);
    api.patchStatus(ING, 'Ingress', 'default', 'moving', { loadBalancer: { ingress: NGINX } });
    assert.equal(await w.sync([get('moving')], owned(), undefined), 0);
    assert.deepEqual(addresses('moving'), NGINX);
  });

  test('moved back and ingress-nginx writes first: Portico clears nothing', async () => {
    nginxIngress('raced-back');
    const w = writer();
    switchClass('raced-back', 'portico');
    await w.sync([get('raced-back')], owned('raced-back'), undefined);
    switchClass('raced-back', 'nginx');
    api.patchStatus(ING, 'Ingress', 'default', 'raced-back', { loadBalancer: { ingress: NGINX } });
    assert.equal(await w.sync([get('raced-back')], owned(), undefined), 0);
    assert.deepEqual(addresses('raced-back'), NGINX);
  });

  test('judged ours, then moved away and given the old address before Portico wrote: the write is refused (409), nothing is overwritten', async () => {
    nginxIngress('stale-owned');
    switchClass('stale-owned', 'portico');
    const judged = get('stale-owned');
    switchClass('stale-owned', 'nginx');
    api.patchStatus(ING, 'Ingress', 'default', 'stale-owned', { loadBalancer: { ingress: [{ ip: '198.51.100.2' }] } });
    const w = writer();
    assert.equal(await w.sync([judged], owned('stale-owned'), undefined), 0);
    assert.deepEqual(addresses('stale-owned'), [{ ip: '198.51.100.2' }]);
    // Its new version, judged not ours, is not touched either: Portico never wrote on it.
    assert.equal(await w.sync([get('stale-owned')], owned(), undefined), 0);
    assert.deepEqual(addresses('stale-owned'), [{ ip: '198.51.100.2' }]);
  });

  test('judged not ours while still carrying our address, then ingress-nginx writes: the clear is refused (409)', async () => {
    nginxIngress('stale-clear');
    const w = writer();
    switchClass('stale-clear', 'portico');
    await w.sync([get('stale-clear')], owned('stale-clear'), undefined);
    switchClass('stale-clear', 'nginx');
    const judged = get('stale-clear');
    api.patchStatus(ING, 'Ingress', 'default', 'stale-clear', { loadBalancer: { ingress: NGINX } });
    assert.equal(await w.sync([judged], owned(), undefined), 0);
    assert.deepEqual(addresses('stale-clear'), NGINX);
  });

  test('judged not ours while still carrying our address, then changed without touching status: the next pass still clears it', async () => {
    nginxIngress('relabelled');
    const w = writer();
    switchClass('relabelled', 'portico');
    await w.sync([get('relabelled')], owned('relabelled'), undefined);
    switchClass('relabelled', 'nginx');
    const judged = get('relabelled');
    const cur = get('relabelled');
    api.update({ ...cur, metadata: { ...(cur.metadata as Obj), labels: { team: 'a' } } });
    assert.equal(await w.sync([judged], owned(), undefined), 0, 'the stale version is not written');
    assert.equal(await w.sync([get('relabelled')], owned(), undefined), 1, 'the new version is');
    assert.deepEqual(addresses('relabelled'), []);
  });

  test('an owned Ingress changed since it was judged gets the address on the pass that judges its new version', async () => {
    nginxIngress('late');
    switchClass('late', 'portico');
    const judged = get('late');
    const cur = get('late');
    api.update({ ...cur, metadata: { ...(cur.metadata as Obj), labels: { team: 'b' } } });
    const w = writer();
    assert.equal(await w.sync([judged], owned('late'), undefined), 0);
    assert.deepEqual(addresses('late'), NGINX);
    assert.equal(await w.sync([get('late')], owned('late'), undefined), 1);
    assert.deepEqual(addresses('late'), PORTICO);
  });
});

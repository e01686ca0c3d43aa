// service-upstream through real HAProxy: with it, requests go to the Service's cluster IP and port (here a "kube-proxy"
// echo listening there) instead of its endpoints; another Ingress without it on the same Service port keeps the
// endpoints; a headless Service falls back to its endpoints; a moved cluster IP is followed without a reload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { docs, endpointSlice, httpGet, ingress, manifestDir, reloadCount, service, startEcho, startPortico, stopEverything, waitFor, writeManifest } from './harness/index.js';
import type { Echo, EchoReply, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;

const app = (name: string, clusterIP: string | undefined, endpointIp: string): string =>
  docs(
    service({ name, ports: [{ port: 8080, targetPort: 3000 }], ...(clusterIP !== undefined ? { clusterIP } : {}) }),
    endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip: endpointIp }] }),
  );
const route = (name: string, host: string, svc: string, upstream: boolean): string =>
  ingress({ name, ...(upstream ? { annotations: { 'nginx.ingress.kubernetes.io/service-upstream': 'true' } } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: svc, port: 8080 }] }] });

const podFor = async (host: string): Promise<string> => (await httpGet(portico.httpPort, { host, path: '/' })).json<EchoReply>().pod;

before(async () => {
  pods.push(await startEcho({ pod: 'endpoint', ip: '127.0.233.1', port: 3000 }));
  pods.push(await startEcho({ pod: 'cluster-ip', ip: '127.0.233.9', port: 8080 }));
  pods.push(await startEcho({ pod: 'moved-cluster-ip', ip: '127.0.233.10', port: 8080 }));
  pods.push(await startEcho({ pod: 'headless-endpoint', ip: '127.0.233.2', port: 3000 }));
  dir = await manifestDir();
  await writeManifest(dir, 'apps.yaml', docs(app('su', '127.0.233.9', '127.0.233.1'), app('headless', 'None', '127.0.233.2')));
  await writeManifest(dir, 'routes.yaml', docs(route('mesh', 'mesh.test', 'su', true), route('direct', 'direct.test', 'su', false), route('hl', 'headless.test', 'headless', true)));
  portico = await startPortico({ manifests: dir, args: ['--reload-interval', '0'] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('service-upstream', () => {
  test("requests go to the Service's cluster IP and port; another Ingress without it keeps the endpoints", async () => {
    assert.equal(await podFor('mesh.test'), 'cluster-ip');
    assert.equal(await podFor('direct.test'), 'endpoint');
  });

  test('a headless Service falls back to its endpoints, as ingress-nginx does', async () => {
    assert.equal(await podFor('headless.test'), 'headless-endpoint');
  });

  test('a moved cluster IP is followed without a reload', async () => {
    const reloads = await reloadCount(portico.adminPort);
    await writeManifest(dir, 'apps.yaml', docs(app('su', '127.0.233.10', '127.0.233.1'), app('headless', 'None', '127.0.233.2')));
    await waitFor(async () => (await podFor('mesh.test')) === 'moved-cluster-ip', { timeoutMs: 5000, message: 'the new cluster IP was never dialled' });
    assert.equal(await reloadCount(portico.adminPort), reloads);
  });
});

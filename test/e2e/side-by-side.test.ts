// Portico beside ingress-nginx in one cluster (the stand-in API server, test/kube-apiserver): two IngressClasses,
// Ingresses moved between them with a real kubectl, status moving with ownership (rules C2, C5, S2, S5), class-less
// Ingresses and --watch-ingress-without-class, and the take-over of the `nginx` class. ingress-nginx itself is not
// running: its address is written on its Ingresses as it would write it, and the tests check that Portico never
// writes over it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { httpGet, rbacFiles, reloadCount, startEcho, startPortico, stopEverything, waitFor } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

type Obj = Record<string, unknown>;
const KUBECTL = '/usr/bin/kubectl';
const TOKEN = 'portico-side-by-side-token';
const ING = 'networking.k8s.io/v1';
/** What ingress-nginx wrote on its Ingresses before Portico was installed. */
const NGINX_ADDRESS = [{ ip: '198.51.100.1' }];
const PORTICO_ADDRESS = [{ ip: '203.0.113.10' }];
const TAKEOVER_ADDRESS = [{ ip: '203.0.113.30' }];
const run = promisify(execFile);
// dist/test/e2e/side-by-side.test.js -> the repository root.
const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'bin', 'portico');

const pods: Echo[] = [];
let api: ApiServer;
let dir = '';
let porticoConfig = '';
let adminConfig = '';
let portico: Portico;

const ingress = (name: string, svc: string, className: string | undefined): Obj => ({
  apiVersion: ING,
  kind: 'Ingress',
  metadata: { name, namespace: 'default' },
  spec: { ...(className ? { ingressClassName: className } : {}), rules: [{ host: `${name}.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }] },
});
const service = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 3000 }] } });
const slice = (svc: string, ip: string): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ port: 3000, protocol: 'TCP' }],
  endpoints: [{ addresses: [ip], conditions: { ready: true } }],
});

function statusOf(name: string): unknown[] {
  const st = ((api.get(ING, 'Ingress', 'default', name) as Obj | undefined)?.status ?? {}) as { loadBalancer?: { ingress?: unknown[] } };
  return st.loadBalancer?.ingress ?? [];
}

async function answer(p: Portico, name: string): Promise<string> {
  const r = await httpGet(p.httpPort, { host: `${name}.test`, path: '/' });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

async function eventually(what: string, probe: () => Promise<string> | string, want: string, timeoutMs = 3000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = await probe();
      return last === want;
    },
    { timeoutMs, intervalMs: 25, message: () => `${what}: ${last}, not ${want}, within ${timeoutMs} ms` },
  );
}

const statusIs = (name: string, want: unknown[], timeoutMs = 3000): Promise<void> => eventually(`status of ${name}`, () => JSON.stringify(statusOf(name)), JSON.stringify(want), timeoutMs);

/** The real client an operator would use, as an admin (Portico's own RBAC applies to Portico only). */
async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run(KUBECTL, ['--kubeconfig', adminConfig, ...args], { env: { ...process.env, KUBECACHEDIR: join(dir, 'kube-cache') }, timeout: 30_000 });
  return stdout;
}

/** `portico check --kubeconfig` as an operator runs it during the migration: which Ingresses would be served. */
async function served(...flags: string[]): Promise<Record<string, boolean>> {
  // Exit status 1 only says something would be lost; the report is on standard output either way.
  const out = await run(BIN, ['check', '--kubeconfig', porticoConfig, '--output', 'json', ...flags], { timeout: 30_000 }).catch((e: { code?: number; stdout?: string }) => {
    if (e.code !== 1 || e.stdout === undefined) throw e;
    return { stdout: e.stdout };
  });
  const report = JSON.parse(out.stdout) as { ingresses: { name: string; served: boolean }[] };
  return Object.fromEntries(report.ingresses.map((i) => [i.name, i.served]));
}

const switchClass = (name: string, className: string): Promise<string> => kubectl('patch', 'ingress', name, '--namespace', 'default', '--type=merge', '-p', JSON.stringify({ spec: { ingressClassName: className } }));

function startServing(identity: string, extra: string[]): Promise<Portico> {
  return startPortico({
    manifests: [],
    args: ['--kubeconfig', porticoConfig, '--election-lease-duration', '3', '--election-renew-deadline', '2', '--election-retry-period', '1', ...extra],
    env: { ...process.env, POD_NAMESPACE: 'portico', POD_NAME: identity },
  });
}

/** Long enough for a status pass Portico would make after a change (it makes one within well under a second, S8). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1000));

before(async () => {
  api = await startApiServer({ token: TOKEN, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
  dir = await mkdtemp(join(tmpdir(), 'portico-side-by-side-'));
  porticoConfig = api.kubeconfig(join(dir, 'portico.kubeconfig'), { token: TOKEN });
  adminConfig = api.kubeconfig(join(dir, 'admin.kubeconfig'), { user: 'admin' });
  for (const [i, svc] of ['legacy', 'mover', 'native', 'classless'].entries()) {
    pods.push(await startEcho({ pod: `${svc}-pod`, ip: `127.0.94.${i + 1}`, port: 3000 }));
    api.create(service(svc));
    api.create(slice(svc, `127.0.94.${i + 1}`));
  }
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico' } });
  // The cluster as ingress-nginx left it: its class is the default, and its Ingresses carry its address.
  api.create({ apiVersion: ING, kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } });
  for (const name of ['legacy', 'mover']) {
    api.create(ingress(name, name, 'nginx'));
    api.patchStatus(ING, 'Ingress', 'default', name, { loadBalancer: { ingress: NGINX_ADDRESS } });
  }
  // Created before any default class existed, or by a tool that bypassed admission: no class at all.
  api.create(ingress('classless', 'classless', undefined));
  // Installed beside it (deploy/overlays/beside-ingress-nginx): Portico's own class, not the default.
  api.create({ apiVersion: ING, kind: 'IngressClass', metadata: { name: 'portico', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'false' } }, spec: { controller: 'portico.dev/ingress-controller' } });
  api.create(ingress('native', 'native', 'portico'));
  portico = await startServing('portico-a', ['--publish-status-address', '203.0.113.10']);
  await portico.waitReady();
});

after(async () => {
  try {
    await stopEverything(pods);
  } finally {
    await api.close().catch(() => undefined);
  }
});

describe('two controllers, two classes', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  test("Portico serves only its own class; ingress-nginx's Ingresses get 404 and keep ingress-nginx's address", async () => {
    await eventually('native.test', () => answer(portico, 'native'), 'native-pod');
    await statusIs('native', PORTICO_ADDRESS);
    for (const name of ['legacy', 'mover', 'classless']) assert.equal(await answer(portico, name), 'HTTP 404', `${name}.test is not Portico's`);
    await settle();
    assert.deepEqual(statusOf('legacy'), NGINX_ADDRESS);
    assert.deepEqual(statusOf('mover'), NGINX_ADDRESS);
    assert.deepEqual(statusOf('classless'), [], 'a class-less Ingress is not ours without --watch-ingress-without-class');
  });

  test("kubectl moves an Ingress to portico: it is served at once and its address becomes Portico's", async () => {
    const reloads = await reloadCount(portico.adminPort);
    assert.match(await switchClass('mover', 'portico'), /ingress.networking.k8s.io\/mover patched/);
    await eventually('mover.test after the switch', () => answer(portico, 'mover'), 'mover-pod');
    await statusIs('mover', PORTICO_ADDRESS);
    // A new host on a Service with spare room is map data and a server slot: no reload (docs/architecture.md).
    assert.equal(await reloadCount(portico.adminPort), reloads, 'moving an Ingress in needs no reload');
    assert.deepEqual(statusOf('legacy'), NGINX_ADDRESS);
  });

  test('moved back to nginx: no longer served, and Portico clears the address it wrote; the address ingress-nginx then writes stays', async () => {
    await switchClass('mover', 'nginx');
    await eventually('mover.test after the switch back', () => answer(portico, 'mover'), 'HTTP 404');
    await statusIs('mover', []);
    // ingress-nginx takes it back and writes its own address, which Portico, never again its owner, leaves alone.
    api.patchStatus(ING, 'Ingress', 'default', 'mover', { loadBalancer: { ingress: NGINX_ADDRESS } });
    await settle();
    assert.deepEqual(statusOf('mover'), NGINX_ADDRESS);
    assert.deepEqual(statusOf('legacy'), NGINX_ADDRESS);
  });

  test('moved again, and back while ingress-nginx has already written its address: Portico clears nothing', async () => {
    await switchClass('mover', 'portico');
    await statusIs('mover', PORTICO_ADDRESS);
    // The other controller is faster: the class and its address change before Portico has looked at the Ingress.
    const cur = api.get(ING, 'Ingress', 'default', 'mover') as Obj;
    api.update({ ...cur, spec: { ...(cur.spec as Obj), ingressClassName: 'nginx' }, status: { loadBalancer: { ingress: NGINX_ADDRESS } } });
    await eventually('mover.test after the switch back', () => answer(portico, 'mover'), 'HTTP 404');
    await settle();
    assert.deepEqual(statusOf('mover'), NGINX_ADDRESS);
  });

  test('a class-less Ingress is served with --watch-ingress-without-class, by that instance only', async () => {
    const watching = await startServing('portico-b', ['--watch-ingress-without-class', '--update-status=false']);
    await watching.waitReady();
    await eventually('classless.test through the instance with the flag', () => answer(watching, 'classless'), 'classless-pod');
    assert.equal(await answer(watching, 'native'), 'native-pod', 'its own class is served as before');
    assert.equal(await answer(watching, 'legacy'), 'HTTP 404', "a class naming ingress-nginx's IngressClass is never taken by the flag");
    assert.equal(await answer(portico, 'classless'), 'HTTP 404', 'the instance without the flag still leaves it');
    await watching.stop();
  });

  test('portico check --kubeconfig decides served as serve does, with the same flags', async () => {
    assert.deepEqual(await served(), { classless: false, legacy: false, mover: false, native: true });
    assert.deepEqual(await served('--watch-ingress-without-class'), { classless: true, legacy: false, mover: false, native: true });
    // What a take-over would serve: nginx is the default class, so the class-less Ingress too (rule C5).
    assert.deepEqual(await served('--ingress-class', 'nginx', '--controller-name', 'k8s.io/ingress-nginx'), { classless: true, legacy: true, mover: true, native: false });
  });
});

describe("taking over ingress-nginx's class: --ingress-class nginx --controller-name k8s.io/ingress-nginx", { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  test("with the old controller stopped, Portico serves the nginx class and replaces the old address with its own; other classes' status is not touched", async () => {
    await portico.stop();
    const nativeBefore = statusOf('native');
    assert.deepEqual(statusOf('legacy'), NGINX_ADDRESS);
    const takeover = await startServing('portico-c', ['--ingress-class', 'nginx', '--controller-name', 'k8s.io/ingress-nginx', '--publish-status-address', '203.0.113.30']);
    await takeover.waitReady();
    await eventually('legacy.test through the take-over', () => answer(takeover, 'legacy'), 'legacy-pod');
    assert.equal(await answer(takeover, 'mover'), 'mover-pod');
    assert.equal(await answer(takeover, 'native'), 'HTTP 404', "class portico is not the take-over's");
    // nginx is the default class, and now Portico's: rule C5 serves the class-less Ingress, which ingress-nginx
    // served only with --watch-ingress-without-class (README, "Migrating from ingress-nginx").
    assert.equal(await answer(takeover, 'classless'), 'classless-pod');
    await statusIs('legacy', TAKEOVER_ADDRESS, 10_000);
    await statusIs('mover', TAKEOVER_ADDRESS);
    await statusIs('classless', TAKEOVER_ADDRESS);
    await settle();
    assert.deepEqual(statusOf('native'), nativeBefore);
    await takeover.stop();
  });
});

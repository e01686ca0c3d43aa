// Other ways to reach the API: plain http, a token kept in a file, insecure-skip-tls-verify; and --watch-namespace.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { httpGet, startEcho, startPortico, stopEverything, waitFor } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const servers: ApiServer[] = [];
const pods: Echo[] = [];

after(async () => {
  try {
    await stopEverything(pods);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

function seed(api: ApiServer, ns: string, host: string, ip: string): void {
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } });
  api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns }, spec: { ports: [{ port: 80, targetPort: 3000 }] } });
  api.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: ns, labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ports: [{ port: 3000 }], endpoints: [{ addresses: [ip] }] });
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: ns }, spec: { ingressClassName: 'portico', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } });
}

async function serving(p: Portico, host: string): Promise<string> {
  const r = await httpGet(p.httpPort, { host, path: '/' });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

test('a plain http API server, with no credentials', async () => {
  const api = await startApiServer({ tls: false });
  servers.push(api);
  pods.push(await startEcho({ pod: 'http-api', ip: '127.0.80.1', port: 3000 }));
  seed(api, 'default', 'plain.test', '127.0.80.1');
  const p = await startPortico({ manifests: [], args: ['--kubeconfig', api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'kc-')), 'config'), { user: 'none' }), '--update-status', 'false'] });
  await p.waitReady();
  await waitFor(async () => (await serving(p, 'plain.test')) === 'http-api', { timeoutMs: 3000, message: 'never routed' });
});

test('a token kept in a file (tokenFile) and insecure-skip-tls-verify instead of a CA', async () => {
  const api = await startApiServer({ token: 'file-token' });
  servers.push(api);
  pods.push(await startEcho({ pod: 'token-file', ip: '127.0.80.2', port: 3000 }));
  seed(api, 'default', 'tokenfile.test', '127.0.80.2');
  const dir = await mkdtemp(join(tmpdir(), 'kc-'));
  const path = api.kubeconfig(join(dir, 'config'), { user: 'none' });
  const cfg = parse(await readFile(path, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: Record<string, unknown> }[] };
  delete cfg.clusters[0]!.cluster['certificate-authority-data'];
  cfg.clusters[0]!.cluster['insecure-skip-tls-verify'] = true;
  cfg.users[0]!.user = { tokenFile: 'token' };
  await writeFile(join(dir, 'token'), 'file-token\n');
  await writeFile(path, stringify(cfg));
  const p = await startPortico({ manifests: [], args: ['--kubeconfig', path, '--update-status', 'false'] });
  await p.waitReady();
  await waitFor(async () => (await serving(p, 'tokenfile.test')) === 'token-file', { timeoutMs: 3000, message: 'never routed' });
  assert.ok(api.requests.every((r) => r.status !== 401), 'every request was authenticated');
});

test('--watch-namespace: only that namespace is watched, and objects elsewhere are ignored', async () => {
  const api = await startApiServer({});
  servers.push(api);
  pods.push(await startEcho({ pod: 'team-a', ip: '127.0.80.3', port: 3000 }), await startEcho({ pod: 'team-b', ip: '127.0.80.4', port: 3000 }));
  seed(api, 'team-a', 'a.test', '127.0.80.3');
  api.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'team-b' }, spec: { ports: [{ port: 80, targetPort: 3000 }] } });
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'team-b' }, spec: { ingressClassName: 'portico', rules: [{ host: 'b.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] } });
  const p = await startPortico({ manifests: [], args: ['--kubeconfig', api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'kc-')), 'config'), { user: 'admin' }), '--watch-namespace', 'team-a', '--update-status', 'false'] });
  await p.waitReady();
  await waitFor(async () => (await serving(p, 'a.test')) === 'team-a', { timeoutMs: 3000, message: 'team-a never routed' });
  assert.equal(await serving(p, 'b.test'), 'HTTP 404');
  const namespaced = api.requests.filter((r) => ['list', 'watch'].includes(r.verb) && r.resource !== 'ingressclasses' && r.resource !== 'leases');
  assert.ok(namespaced.length > 0 && namespaced.every((r) => r.namespace === 'team-a'), 'namespaced lists and watches stay in team-a');
});

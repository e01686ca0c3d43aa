// Portico against the stand-in kube-apiserver (test/kube-apiserver): the same routing as manifest mode, plus
// status, leader election, events, watch faults and RBAC. Everything through real HAProxy and real sockets.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KINDS, KIND_FIELDS } from '../../src/k8s/kinds.js';
import { startApiServer } from '../kube-apiserver/server.js';
import type { ApiServer } from '../kube-apiserver/server.js';
import { httpGet, httpsGet, makeCert, rbacFiles, reloadCount, startEcho, startPortico, stopEverything, waitFor } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

type Obj = Record<string, unknown>;
const TOKEN = 'portico-test-token';
const pods: Echo[] = [];
let api: ApiServer;
let kubeconfig = '';
let leader: Portico;

const ingress = (name: string, host: string, svc: string, extra: Obj = {}): Obj => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name, namespace: 'default' },
  spec: { ingressClassName: 'portico', rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: svc, port: { number: 80 } } } }] } }], ...extra },
});
const service = (name: string): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80, targetPort: 3000 }] } });
const slice = (svc: string, ips: string[], name = `${svc}-1`): Obj => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ port: 3000, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
});

async function podFor(p: Portico, host: string): Promise<string> {
  const r = await httpGet(p.httpPort, { host, path: '/' });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

async function eventually(p: Portico, host: string, want: string, timeoutMs = 1000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = await podFor(p, host);
      return last === want;
    },
    { timeoutMs, intervalMs: 20, message: () => `${host} answered ${last}, not ${want}, within ${timeoutMs} ms` },
  );
}

function statusOf(name: string): unknown[] {
  const ing = api.get('networking.k8s.io/v1', 'Ingress', 'default', name) as Obj | undefined;
  const st = (ing?.status ?? {}) as { loadBalancer?: { ingress?: unknown[] } };
  return st.loadBalancer?.ingress ?? [];
}

function portico(identity: string): Promise<Portico> {
  return startPortico({
    manifests: [],
    args: ['--kubeconfig', kubeconfig, '--configmap', 'portico/portico-settings', '--publish-status-address', '203.0.113.10', '--election-lease-duration', '3', '--election-renew-deadline', '2', '--election-retry-period', '1', '--api-watch-stall-timeout', '3', '--api-list-page-size', '2'],
    env: { ...process.env, POD_NAMESPACE: 'portico', POD_NAME: identity },
  });
}

function leaseHolder(): string {
  const lease = api.get('coordination.k8s.io/v1', 'Lease', 'portico', 'portico-leader') as { spec?: { holderIdentity?: string } } | undefined;
  return lease?.spec?.holderIdentity ?? '';
}

before(async () => {
  api = await startApiServer({ token: TOKEN, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
  kubeconfig = api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'portico-kube-')), 'kubeconfig'), { token: TOKEN });
  for (const [i, n] of ['blue-1', 'blue-2', 'green-1'].entries()) pods.push(await startEcho({ pod: n, ip: `127.0.70.${i + 1}`, port: 3000 }));
  api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico' } }); // as deploy/ creates it
  api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } });
  api.create(service('blue'));
  api.create(slice('blue', ['127.0.70.1']));
  api.create(service('green'));
  api.create(slice('green', ['127.0.70.3']));
  api.create(ingress('site', 'site.test', 'blue'));
  leader = await portico('replica-a');
  await leader.waitReady();
});

after(async () => {
  try {
    await stopEverything(pods);
  } finally {
    await api.close().catch(() => undefined);
  }
});

describe('objects from the API drive routing', () => {
  test('an Ingress created through the API serves within a second', async () => {
    await eventually(leader, 'site.test', 'blue-1');
    api.create(ingress('new', 'new.test', 'green'));
    await eventually(leader, 'new.test', 'green-1');
  });
  test('updates to Ingresses, EndpointSlices and Services follow within a second', async () => {
    const ing = ingress('new', 'new.test', 'blue');
    api.update(ing);
    await eventually(leader, 'new.test', 'blue-1');
    api.update(slice('blue', ['127.0.70.2']));
    await eventually(leader, 'new.test', 'blue-2');
    api.remove('v1', 'Service', 'default', 'blue');
    await eventually(leader, 'new.test', 'HTTP 503');
    api.create(service('blue'));
    await eventually(leader, 'new.test', 'blue-2');
  });
  test('deleting an Ingress removes its routes', async () => {
    api.remove('networking.k8s.io/v1', 'Ingress', 'default', 'new');
    await eventually(leader, 'new.test', 'HTTP 404');
  });
  test('a TLS Secret added and rotated through the API is served by SNI', async () => {
    const a = makeCert({ dnsNames: ['site.test'], keyFormat: 'pkcs1' });
    const b = makeCert({ dnsNames: ['site.test', 'www.site.test'], keyFormat: 'pkcs8' });
    const secret = (c: { certPem: string; keyPem: string }): Obj => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'site-tls', namespace: 'default' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': Buffer.from(c.certPem).toString('base64'), 'tls.key': Buffer.from(c.keyPem).toString('base64') },
    });
    api.update(ingress('site', 'site.test', 'blue', { tls: [{ hosts: ['site.test'], secretName: 'site-tls' }] }));
    api.create(secret(a));
    const san = async (): Promise<string> => (await httpsGet(leader.httpsPort, { servername: 'site.test', host: 'site.test' })).cert.subjectaltname;
    await waitFor(async () => (await san()) === 'DNS:site.test', { timeoutMs: 1000, message: 'first certificate never served' });
    api.update(secret(b));
    await waitFor(async () => (await san()).includes('www.site.test'), { timeoutMs: 1000, message: 'rotated certificate never served' });
  });
  test('deleting the IngressClass removes the routes of its Ingresses; re-creating it restores them (C7)', async () => {
    // site.test has a tls block by now: plain HTTP answers 308 while the Ingress is served.
    await eventually(leader, 'site.test', 'HTTP 308');
    api.remove('networking.k8s.io/v1', 'IngressClass', '', 'portico');
    await eventually(leader, 'site.test', 'HTTP 404');
    api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } });
    await eventually(leader, 'site.test', 'HTTP 308');
  });
});

describe('ConfigMaps from the API (custom-headers, auth-proxy-set-headers)', () => {
  const headers = (h: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'headers', namespace: 'default' }, data: h });
  const frame = async (): Promise<string> => {
    const r = await httpGet(leader.httpPort, { host: 'headers.test', path: '/' });
    return r.status === 200 ? String(r.headers['x-frame-options']) : `HTTP ${r.status}`;
  };
  test("a ConfigMap's headers reach the client; a changed value follows within a second without a reload; deleting it refuses the paths (503)", async () => {
    api.create(headers({ 'X-Frame-Options': 'DENY' }));
    api.create({ ...ingress('headers', 'headers.test', 'green'), metadata: { name: 'headers', namespace: 'default', annotations: { 'nginx.ingress.kubernetes.io/custom-headers': 'headers' } } });
    await waitFor(async () => (await frame()) === 'DENY', { timeoutMs: 5000, message: 'the header never arrived' });
    // A new header name takes a reload, counted once the new worker took over: let it settle first.
    await new Promise((r) => setTimeout(r, 1000));
    const reloads = await reloadCount(leader.adminPort);
    api.update(headers({ 'X-Frame-Options': 'SAMEORIGIN' }));
    await waitFor(async () => (await frame()) === 'SAMEORIGIN', { timeoutMs: 1000, message: 'the changed value never arrived' });
    api.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: 'default' }, data: { 'ca.crt': 'x' } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await reloadCount(leader.adminPort), reloads, 'a value, and a ConfigMap nobody reads: no reload');
    api.remove('v1', 'ConfigMap', 'default', 'headers');
    await waitFor(async () => (await frame()) === 'HTTP 503', { timeoutMs: 3000, message: 'a deleted ConfigMap did not refuse the paths' });
    api.remove('networking.k8s.io/v1', 'Ingress', 'default', 'headers');
    await waitFor(async () => (await frame()) === 'HTTP 404', { timeoutMs: 1000, message: 'the Ingress stayed' });
  });
});

describe('the settings ConfigMap from the API (--configmap)', () => {
  const settings = (data: Record<string, string>): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'portico-settings', namespace: 'portico' }, data });
  test('created, it applies (server-tokens "false": no Server header); a bad key is an Event on it; deleted, the flags apply again', async () => {
    assert.equal((await httpGet(leader.httpPort, { host: 'site.test' })).headers.server, 'portico');
    api.create(settings({ 'server-tokens': 'false', 'limit-req-status-code': 'lots' }));
    await waitFor(async () => (await httpGet(leader.httpPort, { host: 'site.test' })).headers.server === undefined, { timeoutMs: 5000, message: 'server-tokens did not apply' });
    const event = (): { message?: string; reason?: string } | undefined =>
      api.list('v1', 'Event').find((e) => (e as { involvedObject?: { kind?: string; name?: string } }).involvedObject?.name === 'portico-settings' && (e as { involvedObject?: { kind?: string } }).involvedObject?.kind === 'ConfigMap') as
        | { message?: string; reason?: string }
        | undefined;
    await waitFor(() => Promise.resolve(event() !== undefined), { timeoutMs: 3000, message: 'no Event on the ConfigMap' });
    assert.equal(event()?.reason, 'InvalidSetting');
    assert.match(String(event()?.message), /G1.*data\[limit-req-status-code\]|data\[limit-req-status-code\].*G1|"lots"/);
    api.remove('v1', 'ConfigMap', 'portico', 'portico-settings');
    await waitFor(async () => (await httpGet(leader.httpPort, { host: 'site.test' })).headers.server === 'portico', { timeoutMs: 5000, message: 'the flag did not apply again' });
  });
});

describe('status (S1-S8)', () => {
  test('owned Ingresses get the published address; an unknown class never does', async () => {
    api.create(ingress('unknown-class', 'unknown.test', 'blue', { ingressClassName: 'some-invalid-class-name' }));
    await waitFor(() => Promise.resolve(JSON.stringify(statusOf('site')) === '[{"ip":"203.0.113.10"}]'), { timeoutMs: 3000, message: () => `site status: ${JSON.stringify(statusOf('site'))}` });
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(statusOf('unknown-class'), []);
  });
  test('status is cleared when an Ingress stops being owned, and another controller’s status is left alone', async () => {
    api.create(ingress('moving', 'moving.test', 'blue'));
    await waitFor(() => Promise.resolve(statusOf('moving').length === 1), { timeoutMs: 3000, message: 'moving never got an address' });
    const other = ingress('moving', 'moving.test', 'blue', { ingressClassName: 'some-invalid-class-name' });
    const current = api.get('networking.k8s.io/v1', 'Ingress', 'default', 'moving') as Obj;
    api.update({ ...other, metadata: current.metadata, status: current.status });
    await waitFor(() => Promise.resolve(statusOf('moving').length === 0), { timeoutMs: 3000, message: 'status was not cleared' });
    api.create({ ...ingress('foreign', 'foreign.test', 'blue', { ingressClassName: 'nginx' }) });
    api.patchStatus('networking.k8s.io/v1', 'Ingress', 'default', 'foreign', { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } });
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(statusOf('foreign'), [{ ip: '198.51.100.1' }]);
  });
  test('an invalid Ingress gets a Kubernetes Event naming the field and rule', async () => {
    api.create({ ...ingress('broken', 'broken.test', 'blue'), spec: { ingressClassName: 'portico', rules: [{ host: '10.0.0.1', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'blue', port: { number: 80 } } } }] } }] } });
    await waitFor(
      () => Promise.resolve(api.list('v1', 'Event').some((e) => ((e as { involvedObject?: { name?: string } }).involvedObject?.name === 'broken' && String((e as { message?: string }).message).includes('V6')))),
      { timeoutMs: 3000, message: 'no Event for the invalid Ingress' },
    );
  });
  test('annotations read through the API: a redirect is served, and a key ingress-nginx never had is an Event with the name meant', async () => {
    const annotated = ingress('annotated', 'annotated.test', 'blue');
    api.create({
      ...annotated,
      metadata: {
        ...(annotated.metadata as Obj),
        annotations: { 'nginx.ingress.kubernetes.io/permanent-redirect': 'https://moved.example.com/', 'nginx.ingress.kubernetes.io/client-max-body-size': '8m' },
      },
    });
    await eventually(leader, 'annotated.test', 'HTTP 301', 5000);
    const event = (): { message?: string; reason?: string; type?: string } | undefined =>
      api.list('v1', 'Event').find((e) => (e as { involvedObject?: { name?: string } }).involvedObject?.name === 'annotated' && String((e as { message?: string }).message).includes('A3')) as
        | { message?: string; reason?: string; type?: string }
        | undefined;
    await waitFor(() => Promise.resolve(event() !== undefined), { timeoutMs: 3000, message: 'no Event for the unknown annotation' });
    assert.equal(event()?.type, 'Warning');
    assert.match(String(event()?.message), /client-max-body-size.*did you mean "nginx\.ingress\.kubernetes\.io\/proxy-body-size"/);
  });
});

describe('leader election with two replicas', () => {
  test('one leader writes status; when it dies the other takes over within the lease duration; both serve throughout', async () => {
    const second = await portico('replica-b');
    await second.waitReady();
    await eventually(second, 'site.test', 'HTTP 308');
    assert.equal(leaseHolder(), 'replica-a');
    const patchesBefore = api.requests.filter((r) => r.verb === 'patch' && r.resource === 'ingresses/status').length;
    api.create(ingress('after-failover', 'failover.test', 'green'));
    await eventually(second, 'failover.test', 'green-1');
    process.kill(-leader.proc.pid!, 'SIGKILL'); // the whole process group: Portico and its HAProxy
    const killedAt = Date.now();
    await waitFor(() => Promise.resolve(leaseHolder() === 'replica-b'), { timeoutMs: 6000, intervalMs: 100, message: () => `lease still held by ${leaseHolder()}` });
    assert.ok(Date.now() - killedAt < 3000 + 2500, `takeover took ${Date.now() - killedAt} ms`);
    await waitFor(() => Promise.resolve(statusOf('after-failover').length === 1), { timeoutMs: 3000, message: 'the new leader wrote no status' });
    assert.ok(api.requests.filter((r) => r.verb === 'patch' && r.resource === 'ingresses/status').length > patchesBefore);
    assert.equal(await podFor(second, 'site.test'), 'HTTP 308');
    leader = second;
  });
});

describe('watch faults: Portico recovers and ends in the API state', () => {
  const faults: [string, () => void][] = [
    ['a clean close of every watch', () => api.faults.closeWatches({ abrupt: false })],
    ['an abrupt reset of every watch', () => api.faults.closeWatches({ abrupt: true })],
    ['a burst of 500s', () => {
      api.faults.failNext(5, 500, {});
      api.faults.closeWatches({ abrupt: true });
    }],
    ['429s and an expired continue token on relist', () => {
      api.faults.failNext(3, 429, {});
      api.faults.expireContinue();
      api.faults.compact();
      api.faults.closeWatches({ abrupt: true });
    }],
  ];
  for (const [i, [what, inject]] of faults.entries()) {
    test(`after ${what}, changes made meanwhile all arrive`, async () => {
      inject();
      api.create(ingress(`fault-${i}`, `fault${i}.test`, 'green'));
      api.update(slice('green', ['127.0.70.3']));
      await eventually(leader, `fault${i}.test`, 'green-1', 8000);
    });
  }
  test('after history compaction (410 on rewatch), Portico relists: changes made meanwhile arrive, and an Ingress deleted meanwhile stops being served', async () => {
    api.create(ingress('doomed', 'doomed.test', 'green'));
    await eventually(leader, 'doomed.test', 'green-1', 8000);
    await waitFor(() => Promise.resolve(statusOf('doomed').length === 1), { timeoutMs: 3000, message: 'doomed never got an address' });
    const since = api.requests.length;
    // Portico's watches hear nothing from here on, so its resourceVersions fall behind; the compaction then makes
    // them too old, and the rewatch after the close is answered with a 410 ERROR event. A watch from "now" would
    // never tell Portico about the deletion: only a relist (a list replacing everything it knew) does.
    const release = api.faults.stallWatches();
    api.remove('networking.k8s.io/v1', 'Ingress', 'default', 'doomed');
    api.create(ingress('compacted', 'compacted.test', 'green'));
    api.faults.compact();
    api.faults.closeWatches({ abrupt: false });
    release();
    await eventually(leader, 'compacted.test', 'green-1', 8000);
    await eventually(leader, 'doomed.test', 'HTTP 404', 8000);
    const log = api.requests.slice(since).filter((r) => r.resource === 'ingresses');
    const rewatch = log.findIndex((r) => r.verb === 'watch');
    assert.ok(rewatch >= 0, 'Portico watched Ingresses again after the close');
    assert.ok(log.slice(rewatch).some((r) => r.verb === 'list' && r.status === 200), `Portico relisted Ingresses after the 410 (requests: ${log.map((r) => r.verb).join(', ')})`);
  });
  test('a watch that goes silent is cut after --api-watch-stall-timeout and nothing sent meanwhile is lost', async () => {
    const watches = (): number => api.requests.filter((r) => r.verb === 'watch' && r.resource === 'ingresses').length;
    const before = watches();
    const release = api.faults.stallWatches('ingresses');
    try {
      api.create(ingress('during-stall', 'stall.test', 'green'));
      // The stall timeout is 3 s in these tests: by 4.5 s Portico must have given up on the silent watch.
      await waitFor(() => Promise.resolve(watches() > before), { timeoutMs: 4500, intervalMs: 100, message: 'the silent watch was never replaced' });
    } finally {
      release();
    }
    await eventually(leader, 'stall.test', 'green-1', 8000);
  });
  test('an expired continue token in the middle of a paged relist restarts the list, and nothing is missed', async () => {
    const continued = (): number => api.requests.filter((r) => r.verb === 'list' && r.query.continue !== undefined).length;
    const before = continued();
    // Hold Portico's watches so that its resourceVersion falls behind, then compact: its next watch gets 410, and
    // the relist that follows is paged (--api-list-page-size 2) into an expiring continue token.
    const release = api.faults.stallWatches();
    api.create(ingress('after-expiry', 'expiry.test', 'green'));
    api.faults.compact();
    api.faults.expireContinue();
    api.faults.closeWatches({ abrupt: true });
    release();
    await eventually(leader, 'expiry.test', 'green-1', 8000);
    assert.ok(continued() > before, 'the relist was paged (limit/continue)');
    assert.ok(api.requests.some((r) => r.verb === 'list' && r.query.continue !== undefined && r.status === 410), 'a continue token expired');
  });
  test('the final routing equals the API state', async () => {
    api.faults.clear();
    for (const ing of api.list('networking.k8s.io/v1', 'Ingress') as Obj[]) {
      const spec = ing.spec as { ingressClassName?: string; rules?: { host?: string }[] };
      const host = spec.rules?.[0]?.host;
      if (!host || spec.ingressClassName !== 'portico' || host === '10.0.0.1') continue;
      assert.notEqual(await podFor(leader, host), 'HTTP 404', `${host} is routed`);
    }
  });
});

describe('RBAC', () => {
  test("Portico never needed anything outside its ClusterRole, and the stand-in refuses what the role does not grant", async () => {
    assert.deepEqual(api.rbacDenials, []);
    const cfg = parse(await readFile(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
    const server = cfg.clusters[0]!.cluster.server;
    const res = await fetchForbidden(server, '/api/v1/namespaces/default/secrets/site-tls');
    assert.equal(res, 403);
  });
});

describe('SIGHUP', () => {
  test('relists every kind; while the relists fail, every object stays and routing does not change', async () => {
    const kinds = KIND_FIELDS.map((f) => KINDS[f].resource);
    const lists = (status: number, resource?: string): number => api.requests.filter((r) => r.verb === 'list' && r.status === status && (resource === undefined || r.resource === resource)).length;
    const before = Object.fromEntries(kinds.map((k) => [k, lists(200, k)]));
    const failedBefore = lists(500);
    const routed = await podFor(leader, 'site.test');
    assert.notEqual(routed, 'HTTP 404');
    api.faults.failNext(8, 500, { verb: 'list' });
    leader.proc.kill('SIGHUP');
    await waitFor(() => Promise.resolve(lists(500) >= failedBefore + 8), { timeoutMs: 5000, message: () => `the relists did not happen: ${JSON.stringify(api.requests.filter((r) => r.verb === 'list').slice(-12).map((r) => [r.resource, r.status]))}` });
    assert.equal(await podFor(leader, 'site.test'), routed, 'a failed list is not an empty list');
    await leader.waitForLog((l) => /^SIGHUP: relisted \d+ objects from the API$/.test(String(l.msg)), 10_000);
    for (const k of kinds) assert.ok(lists(200, k) > before[k]!, `${k} listed again`);
    assert.equal(leader.exit, null, 'Portico keeps running');
    assert.equal(await podFor(leader, 'site.test'), routed);
  });
});

describe('the admin port in a cluster', () => {
  test("listens on every address, for the kubelet's probes", async () => {
    assert.equal((await httpGet(leader.adminPort, { address: '127.0.0.2', path: '/healthz' })).status, 200);
  });
});

describe('API unreachable', () => {
  test('the last good configuration keeps serving while the API server is down', async () => {
    await api.close();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await podFor(leader, 'failover.test'), 'green-1');
  });
});

/** A DELETE of a Secret: Portico's role has no such verb, so the stand-in must answer 403. */
async function fetchForbidden(server: string, path: string): Promise<number> {
  const { request } = await import('node:https');
  return new Promise((resolvePromise, reject) => {
    const req = request(new URL(path, server), { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` }, ca: api.caPem }, (res) => {
      res.resume();
      resolvePromise(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}


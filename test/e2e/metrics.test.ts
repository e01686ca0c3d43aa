// /metrics through real HAProxy: Services and endpoints by their Kubernetes names (a Service in a spare section
// bound at runtime too), what HAProxy can and cannot see of an endpoint that stopped answering, an endpoint removed
// from its EndpointSlice leaving the series, the reload series of ingress-nginx moving with a reload (and not with a
// runtime update), and the expiry of a TLS Secret's certificate.
//
// What HAProxy sees: Portico configures no health checks, so a stopped pod stays "up" (HAProxy's status `no check`)
// until Kubernetes takes it out of the EndpointSlice; what shows is the connection errors of that endpoint, while the
// client still gets its answer from another pod (HAProxy redispatches the failed attempt).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer } from '../kube-apiserver/server.js';
import { docs, endpointSlice, httpGet, httpsGet, ingress, makeCert, manifestDir, rbacFiles, service, startEcho, startPortico, stopEverything, tlsSecretYaml, waitFor, writeManifest } from './harness/index.js';
import type { Echo, Portico } from './harness/index.js';

const pods: Echo[] = [];
let dir = '';
let portico: Portico;
const cert = makeCert({ cn: 'web', dnsNames: ['web.metrics.test'], keyFormat: 'pkcs8', days: 45 });
const weak = makeCert({ cn: 'weak', dnsNames: ['weak.metrics.test'], keyFormat: 'pkcs8' }); // RSA-2048
const NS = 'default';

const app = (name: string, ips: string[]): string =>
  docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: ips.map((ip) => ({ ip })) }));

const site = (name: string, host: string, annotations?: Record<string, string>, secretName?: string): string =>
  ingress({ name, ...(annotations ? { annotations } : {}), ...(secretName ? { tls: [{ hosts: [host], secretName }] } : {}), rules: [{ host, paths: [{ path: '/', pathType: 'Prefix', service: name, port: 80 }] }] });

async function scrape(p: Portico = portico): Promise<string> {
  const r = await httpGet(p.adminPort, { path: '/metrics' });
  assert.equal(r.status, 200);
  return r.body;
}

/** The values of the series `name{...}` whose labels include all of `labels`, in exposition order. */
function values(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) out.push(Number(m[3]));
  }
  return out;
}

const one = (text: string, name: string, labels: Record<string, string> = {}): number => {
  const v = values(text, name, labels);
  assert.equal(v.length, 1, `one series ${name}${JSON.stringify(labels)}: ${v.length}`);
  return v[0]!;
};

async function podOf(host: string): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path: '/' });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `status ${r.status}`;
}

before(async () => {
  dir = await manifestDir();
  for (const [pod, ip] of [['web-1', '127.0.133.1'], ['web-2', '127.0.133.2'], ['api-1', '127.0.133.3']] as const) pods.push(await startEcho({ pod, ip, port: 3000 }));
  await writeManifest(dir, 'web.yaml', docs(app('web', ['127.0.133.1', '127.0.133.2']), tlsSecretYaml(NS, 'web-tls', cert), site('web', 'web.metrics.test', undefined, 'web-tls')));
  portico = await startPortico({ manifests: [dir], args: ['--ssl-redirect', 'false', '--spare-backends', '2'], env: { ...process.env, POD_NAMESPACE: 'ingress', POD_NAME: 'portico-0' } });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('Services and endpoints from HAProxy, by their Kubernetes names', () => {
  test('endpoints up and responses per class of a Service, and of a Service bound at runtime to a spare section', async () => {
    for (let i = 0; i < 6; i++) assert.match(await podOf('web.metrics.test'), /^web-[12]$/);
    const svc = { namespace: NS, service: 'web', port: '80' };
    let text = '';
    await waitFor(async () => values((text = await scrape()), 'portico_service_responses_total', { ...svc, code_class: '2xx' })[0] === 6, { timeoutMs: 5000, message: () => `web's 2xx: ${values(text, 'portico_service_responses_total', { ...svc, code_class: '2xx' }).join()}` });
    assert.equal(one(text, 'portico_service_endpoints', { ...svc, state: 'up' }), 2);
    assert.deepEqual(values(text, 'portico_endpoint_up', svc), [1, 1]);
    assert.equal(one(text, 'portico_endpoint_up', { ...svc, endpoint: '127.0.133.1:3000' }), 1);

    // A new Service goes live at runtime, in a spare section: no reload, and the series name the Service.
    const reloads = one(text, 'portico_haproxy_reloads_total');
    await writeManifest(dir, 'api.yaml', docs(app('api', ['127.0.133.3']), site('api', 'api.metrics.test')));
    await waitFor(async () => (await podOf('api.metrics.test')) === 'api-1', { timeoutMs: 10_000, message: 'api never went live' });
    for (let i = 0; i < 2; i++) assert.equal(await podOf('api.metrics.test'), 'api-1');
    const api = { namespace: NS, service: 'api', port: '80' };
    await waitFor(async () => values((text = await scrape()), 'portico_service_responses_total', { ...api, code_class: '2xx' })[0] === 3, { timeoutMs: 5000, message: () => `api's 2xx: ${values(text, 'portico_service_responses_total', { ...api, code_class: '2xx' }).join()}` });
    assert.equal(one(text, 'portico_haproxy_reloads_total'), reloads, 'the Service went into a spare section at runtime');
    assert.ok(one(text, 'portico_runtime_operations_total', { kind: 'server' }) >= 2, 'the server and its twin were added at runtime');
    assert.equal(one(text, 'portico_endpoint_up', { ...api, endpoint: '127.0.133.3:3000' }), 1);
    assert.equal(one(text, 'portico_service_endpoints', { ...api, state: 'up' }), 1, 'a lone endpoint and its twin are one endpoint');
    assert.doesNotMatch(text, /spare_|"be_|ep_127/, 'no HAProxy section or server name in a label');
  });

  test('a stopped pod: HAProxy sees its connection errors, not that it is down; removed from the EndpointSlice, its series go', async () => {
    const svc = { namespace: NS, service: 'web', port: '80' };
    const gone = { ...svc, endpoint: '127.0.133.2:3000' };
    const before = await scrape();
    const errorsBefore = one(before, 'portico_endpoint_failed_attempts_total', gone);
    await pods.find((p) => p.pod === 'web-2')!.close();
    // Every request still gets an answer: the failed connection is retried on the other pod.
    for (let i = 0; i < 6; i++) assert.equal(await podOf('web.metrics.test'), 'web-1');
    let text = '';
    await waitFor(async () => one((text = await scrape()), 'portico_endpoint_failed_attempts_total', gone) > errorsBefore, { timeoutMs: 5000, message: 'no failed attempt counted for the stopped pod' });
    assert.ok(one(text, 'portico_service_redispatches_total', svc) > one(before, 'portico_service_redispatches_total', svc), 'the requests went to the other pod');
    assert.equal(one(text, 'portico_endpoint_up', gone), 1, 'without health checks HAProxy does not mark it down');
    assert.equal(one(text, 'portico_service_endpoints', { ...svc, state: 'up' }), 2);

    // Kubernetes takes it out of the EndpointSlice: a runtime update, and the endpoint leaves the series.
    const reloads = one(text, 'portico_haproxy_reloads_total');
    await writeManifest(dir, 'web.yaml', docs(app('web', ['127.0.133.1']), tlsSecretYaml(NS, 'web-tls', cert), site('web', 'web.metrics.test', undefined, 'web-tls')));
    await waitFor(async () => values((text = await scrape()), 'portico_endpoint_up', gone).length === 0, { timeoutMs: 5000, message: 'the removed endpoint still has a series' });
    assert.equal(one(text, 'portico_service_endpoints', { ...svc, state: 'up' }), 1);
    assert.equal(one(text, 'portico_haproxy_reloads_total'), reloads, 'an endpoint removed is a runtime update');
    assert.ok(one(text, 'portico_service_redispatches_total', svc) > one(before, 'portico_service_redispatches_total', svc), 'a Service counter never goes back when an endpoint leaves');
  });
});

describe("ingress-nginx's reload series", () => {
  test('a change that needs a reload moves success, the reason, the timestamp and the hash; a runtime update moves none of them', async () => {
    const labels = { controller_namespace: 'ingress', controller_class: 'portico.dev/ingress-controller', controller_pod: 'portico-0' };
    let text = await scrape();
    const success = one(text, 'nginx_ingress_controller_success', labels);
    const hash = one(text, 'nginx_ingress_controller_config_hash', labels);
    const at = one(text, 'nginx_ingress_controller_config_last_reload_successful_timestamp_seconds', labels);
    const newFeature = one(text, 'portico_haproxy_reload_reasons_total', { reason: 'new-feature' });
    assert.equal(one(text, 'nginx_ingress_controller_config_last_reload_successful', labels), 1);
    assert.ok(success >= 1, 'the first configuration counts');
    assert.deepEqual([...values(text, 'portico_leader'), ...values(text, 'nginx_ingress_controller_leader_election_status')], [], 'no election from manifests, no leader series');

    // CORS is the first route to need the frontend's CORS rules: the configuration text changes, HAProxy reloads.
    await new Promise((r) => setTimeout(r, 1100)); // the timestamp has a resolution of a second
    await writeManifest(dir, 'api.yaml', docs(app('api', ['127.0.133.3']), site('api', 'api.metrics.test', { 'nginx.ingress.kubernetes.io/enable-cors': 'true' })));
    await waitFor(async () => one((text = await scrape()), 'nginx_ingress_controller_success', labels) === success + 1, { timeoutMs: 10_000, message: 'no reload counted' });
    assert.equal(one(text, 'portico_haproxy_reload_reasons_total', { reason: 'new-feature' }), newFeature + 1, text.split('\n').filter((l) => l.startsWith('portico_haproxy_reload_reasons_total')).join('\n'));
    assert.equal(one(text, 'nginx_ingress_controller_config_last_reload_successful', labels), 1);
    assert.ok(one(text, 'nginx_ingress_controller_config_last_reload_successful_timestamp_seconds', labels) > at);
    assert.notEqual(one(text, 'nginx_ingress_controller_config_hash', labels), hash);
    assert.equal((await httpGet(portico.httpPort, { host: 'api.metrics.test', path: '/', headers: { origin: 'https://x.test' } })).headers['access-control-allow-origin'], '*');

    // The Service's counters carry on across the reload (HAProxy's own started again at 0).
    const api = { namespace: NS, service: 'api', port: '80', code_class: '2xx' };
    assert.ok(one(text, 'portico_service_responses_total', api) >= 3, 'no count lost to the reload');

    // An endpoint change: runtime only.
    const after = one(text, 'nginx_ingress_controller_success', labels);
    const ops = one(text, 'portico_runtime_updates_total');
    await writeManifest(dir, 'api.yaml', docs(app('api', ['127.0.133.3', '127.0.133.1']), site('api', 'api.metrics.test', { 'nginx.ingress.kubernetes.io/enable-cors': 'true' })));
    await waitFor(async () => one((text = await scrape()), 'portico_runtime_updates_total') > ops, { timeoutMs: 10_000, message: 'no runtime update counted' });
    // HAProxy's statistics are read at most once a second: the new endpoint shows with the next read.
    await waitFor(async () => one((text = await scrape()), 'portico_service_endpoints', { namespace: NS, service: 'api', port: '80', state: 'up' }) === 2, { timeoutMs: 5000, message: 'the new endpoint is not counted' });
    assert.equal(one(text, 'nginx_ingress_controller_success', labels), after);
  });

  test('a configuration HAProxy rejects counts an error; once the object is left out, the last reload is successful again', async () => {
    // OpenSSL security level 3 (see isolation.test.ts): HAProxy refuses an RSA-2048 certificate that translate accepts.
    const etc = await manifestDir();
    const conf = join(etc, 'openssl.cnf');
    await writeFile(conf, ['openssl_conf = openssl_init', '[openssl_init]', 'ssl_conf = ssl_sect', '[ssl_sect]', 'system_default = system_default_sect', '[system_default_sect]', 'CipherString = DEFAULT@SECLEVEL=3', ''].join('\n'));
    const d = await manifestDir();
    pods.push(await startEcho({ pod: 'lvl3', ip: '127.0.133.9', port: 3000 }));
    await writeManifest(d, 'app.yaml', docs(app('lvl3', ['127.0.133.9']), site('lvl3', 'lvl3.metrics.test')));
    const p = await startPortico({ manifests: [d], env: { ...process.env, OPENSSL_CONF: conf } });
    await p.waitReady();
    let text = await scrape(p);
    assert.equal(one(text, 'nginx_ingress_controller_errors'), 0);
    await writeManifest(d, 'weak.yaml', docs(tlsSecretYaml(NS, 'weak-tls', weak), site('lvl3', 'weak.metrics.test', undefined, 'weak-tls').replace('name: lvl3', 'name: weak')));
    await waitFor(async () => one((text = await scrape(p)), 'nginx_ingress_controller_errors') >= 1, { timeoutMs: 30_000, message: 'no reload error counted' });
    await waitFor(async () => one((text = await scrape(p)), 'portico_objects_excluded') === 1, { timeoutMs: 30_000, message: 'the Secret was not left out' });
    await waitFor(async () => one((text = await scrape(p)), 'nginx_ingress_controller_config_last_reload_successful') === 1, { timeoutMs: 30_000, message: 'the reload without the Secret did not succeed' });
    assert.ok(one(text, 'portico_config_rejected_total') >= 1);
    assert.equal((await httpsGet(p.httpsPort, { servername: 'weak.metrics.test', host: 'weak.metrics.test' })).status, 200, 'the host is served (with the default certificate)');
    await p.stop();
  });
});

describe('certificate expiry', () => {
  test("a TLS Secret's expiry is its certificate's notAfter, under ingress-nginx's name and Portico's", async () => {
    const x = new X509Certificate(cert.certPem);
    const notAfter = Math.floor(new Date(x.validTo).getTime() / 1000);
    const text = await scrape();
    assert.equal(one(text, 'nginx_ingress_controller_ssl_expire_time_seconds', { namespace: NS, secret_name: 'web-tls', host: 'web.metrics.test', class: 'portico.dev/ingress-controller' }), notAfter);
    assert.equal(one(text, 'portico_ssl_certificate_expiry_timestamp_seconds', { namespace: NS, secret: 'web-tls', host: 'web.metrics.test' }), notAfter);
    const r = await httpsGet(portico.httpsPort, { servername: 'web.metrics.test', host: 'web.metrics.test' });
    assert.equal(r.cert.fingerprint256, x.fingerprint256, 'the certificate HAProxy serves is that one');
  });
});

describe('the Kubernetes source and leader election', () => {
  test('leader status under both names; watches ended, cut and expired are counted by reason, and the relist after a 410', async () => {
    const token = 'metrics-token';
    const api = await startApiServer({ token, rbac: { files: await rbacFiles(), serviceAccount: { namespace: 'portico', name: 'portico' } } });
    try {
      const kubeconfig = api.kubeconfig(join(await mkdtemp(join(tmpdir(), 'portico-kube-')), 'kubeconfig'), { token });
      api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'portico' } });
      api.create({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } });
      const p = await startPortico({
        manifests: [],
        args: ['--kubeconfig', kubeconfig, '--election-lease-duration', '3', '--election-renew-deadline', '2', '--election-retry-period', '1'],
        env: { ...process.env, POD_NAMESPACE: 'portico', POD_NAME: 'replica-a' },
      });
      try {
        await p.waitReady();
        const labels = { controller_namespace: 'portico', controller_class: 'portico.dev/ingress-controller', controller_pod: 'replica-a', name: 'portico-leader' };
        let text = '';
        await waitFor(async () => values((text = await scrape(p)), 'nginx_ingress_controller_leader_election_status', labels)[0] === 1, { timeoutMs: 10_000, message: 'never reported as leader' });
        assert.equal(one(text, 'portico_leader'), 1);
        const restarts = (reason: string): number => values(text, 'portico_kubernetes_watch_restarts_total', { resource: 'ingresses', reason })[0] ?? 0;
        const relists = (): number => values(text, 'portico_kubernetes_relists_total', { resource: 'ingresses' })[0] ?? 0;
        const [ended, failed, expired, listed] = [restarts('ended'), restarts('error'), restarts('expired'), relists()];
        assert.ok(api.faults.closeWatches({ resource: 'ingresses' }) > 0);
        await waitFor(async () => ((text = await scrape(p)), restarts('ended') === ended + 1), { timeoutMs: 5000, message: 'a watch ended by the server was not counted' });
        await waitFor(() => Promise.resolve(api.faults.closeWatches({ resource: 'ingresses', abrupt: true }) > 0), { timeoutMs: 5000, message: 'no new watch' });
        await waitFor(async () => ((text = await scrape(p)), restarts('error') === failed + 1), { timeoutMs: 5000, message: 'a watch cut mid-stream was not counted' });
        // The history is compacted away: the next watch from the old resourceVersion gets 410, then a relist. A watch
        // from the very revision compacted at is still valid (as in etcd), and a bookmark may have just brought Portico
        // there: a write to a kind it does not watch, in the same turn as the compaction, makes its revision older.
        api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'compacted-after-this' } });
        api.faults.compact();
        await waitFor(() => Promise.resolve(api.faults.closeWatches({ resource: 'ingresses' }) > 0), { timeoutMs: 5000, message: 'no new watch' });
        await waitFor(async () => ((text = await scrape(p)), restarts('expired') === expired + 1 && relists() === listed + 1), { timeoutMs: 10_000, message: () => `410 and relist: expired ${restarts('expired')}, relists ${relists()}` });
        assert.equal(values(text, 'portico_kubernetes_relists_total', { resource: 'services' })[0] ?? 0, 0, 'only the resource that expired was listed again');
      } finally {
        await p.stop();
      }
    } finally {
      await api.close().catch(() => undefined);
    }
  });
});

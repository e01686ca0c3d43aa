// Churn under load: while clients keep requesting a stable route over kept-alive and new connections, HTTP and
// HTTPS, the cluster changes in every routine way (endpoints scaled 5 -> 10 -> 5 with readiness flips and a graceful
// scale-down, Ingresses added and removed, a path changed, a certificate rotated, a Service added). Not one request
// may fail, a WebSocket opened before the churn must still work after it, and HAProxy must never have reloaded.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { docs, endpointSlice, httpGet, ingress, makeCert, manifestDir, removeManifest, service, startEcho, startEchoPods, startPortico, stopEverything, tlsHandshake, tlsSecretYaml, waitFor, websocket, writeManifest } from './harness/index.js';
import type { Echo, SliceEndpoint } from './harness/index.js';

const pods: Echo[] = [];
let web: Echo[] = [];
let dir = '';
let portico: Awaited<ReturnType<typeof startPortico>>;

const certA = makeCert({ cn: 'churn-a', dnsNames: ['churn.test'], keyFormat: 'pkcs8' });
const certB = makeCert({ cn: 'churn-b', dnsNames: ['churn.test'], keyFormat: 'pkcs8', days: 29 });
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

const webSlice = (endpoints: SliceEndpoint[]): string => endpointSlice({ name: 'web-1', service: 'web', ports: [{ port: 3000 }], endpoints });
const ready = (list: Echo[]): SliceEndpoint[] => list.map((p) => ({ ip: p.ip }));

function mainIngress(apiPath: string, extra = false): string {
  const paths = [
    { path: '/', pathType: 'Prefix' as const, service: 'web', port: 80 },
    { path: apiPath, pathType: 'Prefix' as const, service: 'api', port: 80 },
    ...(extra ? [{ path: '/extra', pathType: 'Prefix' as const, service: 'extra', port: 80 }] : []),
  ];
  return ingress({
    name: 'main',
    // Plain-HTTP clients are part of the load: no redirect to HTTPS for this TLS host.
    annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
    tls: [{ hosts: ['churn.test'], secretName: 'churn-tls' }],
    rules: [{ host: 'churn.test', paths }],
  });
}

async function metric(name: string): Promise<number> {
  const text = (await httpGet(portico.adminPort, { path: '/metrics' })).body;
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** Writes a change and waits until Portico reports it live through the runtime API. */
async function change(what: string, write: () => Promise<unknown>): Promise<void> {
  const before = await metric('portico_runtime_updates_total');
  await write();
  await waitFor(async () => (await metric('portico_runtime_updates_total')) > before, { timeoutMs: 3000, intervalMs: 10, message: `${what} never went live` });
}

async function podFor(host: string, path: string): Promise<string> {
  const r = await httpGet(portico.httpPort, { host, path });
  return r.status === 200 ? r.json<{ pod: string }>().pod : `HTTP ${r.status}`;
}

async function eventually(host: string, path: string, want: (pod: string) => boolean, what: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = await podFor(host, path);
      return want(last);
    },
    { timeoutMs: 3000, intervalMs: 10, message: () => `${what}: ${host}${path} answered ${last}` },
  );
}

/** Clients that never stop until told: every answer other than 200 from the stable route is a failure. */
function startLoad(): { stop: () => Promise<{ ok: number; failures: string[] }> } {
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });
  const tlsKeepAlive = new HttpsAgent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false, servername: 'churn.test' });
  const one = (secure: boolean, agent: Agent | HttpsAgent | false, path: string): Promise<void> =>
    new Promise((done) => {
      const opts = { host: '127.0.0.1', port: secure ? portico.httpsPort : portico.httpPort, path, headers: { host: 'churn.test' }, agent };
      const onResponse = (res: import('node:http').IncomingMessage): void => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) ok++;
          else failures.push(`${secure ? 'https' : 'http'} ${path}: HTTP ${res.statusCode}`);
          done();
        });
      };
      const req = secure && agent !== false ? httpsRequest({ ...opts, agent: agent as HttpsAgent, servername: 'churn.test', rejectUnauthorized: false }, onResponse) : request(opts, onResponse);
      req.on('error', (e: NodeJS.ErrnoException) => {
        failures.push(`${secure ? 'https' : 'http'} ${path}: ${e.code ?? e.message}`);
        done();
      });
      req.end();
    });
  const worker = async (secure: boolean, agent: Agent | HttpsAgent | false, path: string): Promise<void> => {
    while (running) await one(secure, agent, path);
  };
  const all = Promise.all([
    ...Array.from({ length: 4 }, () => worker(false, keepAlive, '/')),
    // Slow requests are in flight whenever an endpoint leaves: they must finish on the endpoint they started on.
    ...Array.from({ length: 3 }, () => worker(false, keepAlive, '/slow?ms=150')),
    ...Array.from({ length: 2 }, () => worker(false, false, '/')),
    ...Array.from({ length: 2 }, () => worker(true, tlsKeepAlive, '/')),
  ]);
  return {
    stop: async () => {
      running = false;
      await all;
      keepAlive.destroy();
      tlsKeepAlive.destroy();
      return { ok, failures };
    },
  };
}

before(async () => {
  dir = await manifestDir();
  web = await startEchoPods(10, { namePrefix: 'web', ipBase: '127.0.90', port: 3000 });
  pods.push(...web);
  const api = await startEcho({ pod: 'api', ip: '127.0.91.1', port: 3000 });
  const extra = await startEcho({ pod: 'extra', ip: '127.0.91.2', port: 3000 });
  const ws = await startEcho({ pod: 'ws', ip: '127.0.91.3', port: 3000 });
  pods.push(api, extra, ws);
  const single = (name: string, ip: string): string =>
    docs(service({ name, ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }));
  await writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(ready(web.slice(0, 5)))));
  await writeManifest(dir, 'api.yaml', single('api', api.ip));
  await writeManifest(dir, 'ws.yaml', docs(single('ws', ws.ip), ingress({ name: 'ws', rules: [{ host: 'ws.test', paths: [{ path: '/', pathType: 'Prefix', service: 'ws', port: 80 }] }] })));
  await writeManifest(dir, 'tls.yaml', tlsSecretYaml('default', 'churn-tls', certA));
  await writeManifest(dir, 'main.yaml', mainIngress('/v1'));
  portico = await startPortico({ manifests: [dir] });
  await portico.waitReady();
});

after(() => stopEverything(pods));

describe('churn under load', () => {
  test('every routine change goes live through the runtime API with no failed request and no reload', async () => {
    assert.equal(await podFor('churn.test', '/v1'), 'api');
    assert.equal((await tlsHandshake(portico.httpsPort, { servername: 'churn.test' })).cert.fingerprint256, fingerprint(certA.certPem));
    const reloadsBefore = await metric('portico_haproxy_reloads_total');
    const ws = await websocket(`ws://127.0.0.1:${portico.httpPort}/socket`, { host: 'ws.test' });
    ws.send('before');
    assert.equal(await ws.next(), 'ws:before');
    const load = startLoad();
    let result: { ok: number; failures: string[] } | undefined;
    try {
      // Scale 5 -> 10: every new endpoint gets traffic.
      const counts = web.map((p) => p.requests);
      await change('scale-up', () => writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(ready(web)))));
      await waitFor(() => Promise.resolve(web.every((p, i) => p.requests > counts[i]!)), { timeoutMs: 3000, message: 'not every endpoint got traffic after the scale-up' });

      // Readiness flips: two endpoints turn unready, then ready again.
      const flipped = (list: Echo[], unready: Set<Echo>): SliceEndpoint[] => list.map((p) => ({ ip: p.ip, ready: !unready.has(p) }));
      await change('readiness off', () => writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(flipped(web, new Set(web.slice(0, 2)))))));
      // Slow requests that started before the flip may still be answered by them: let those finish first.
      await new Promise((r) => setTimeout(r, 300));
      const frozen = web.slice(0, 2).map((p) => p.requests);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(web.slice(0, 2).map((p) => p.requests), frozen, 'unready endpoints got no new requests');
      const back = web.slice(0, 2).map((p) => p.requests);
      await change('readiness on', () => writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(ready(web)))));
      await waitFor(() => Promise.resolve(web.slice(0, 2).every((p, i) => p.requests > back[i]!)), { timeoutMs: 3000, message: 'endpoints ready again got no traffic' });

      // Scale 10 -> 5 the way a rollout does it: the leaving pods turn terminating, then shut down gracefully
      // while requests are in flight on them, then leave the slice.
      const leaving = web.slice(5);
      const terminating = web.map((p, i) => (i < 5 ? { ip: p.ip } : { ip: p.ip, ready: false, serving: true, terminating: true }));
      await change('scale-down (terminating)', () => writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(terminating))));
      await Promise.all(leaving.map((p) => p.shutdown()));
      // Terminating endpoints were already out of rotation: their removal changes nothing HAProxy serves.
      await writeManifest(dir, 'web.yaml', docs(service({ name: 'web', ports: [{ port: 80, targetPort: 3000 }] }), webSlice(ready(web.slice(0, 5)))));

      // An Ingress added, then removed.
      await writeManifest(dir, 'added.yaml', ingress({ name: 'added', rules: [{ host: 'added.test', paths: [{ path: '/', pathType: 'Prefix', service: 'api', port: 80 }] }] }));
      await eventually('added.test', '/', (p) => p === 'api', 'the added Ingress');
      await removeManifest(dir, 'added.yaml');
      await eventually('added.test', '/', (p) => p === 'HTTP 404', 'the removed Ingress');

      // A path changed.
      await writeManifest(dir, 'main.yaml', mainIngress('/v2'));
      await eventually('churn.test', '/v2', (p) => p === 'api', 'the new path');
      assert.match(await podFor('churn.test', '/v1'), /^web-/, 'the old path falls back to /');

      // A certificate rotated.
      await writeManifest(dir, 'tls.yaml', tlsSecretYaml('default', 'churn-tls', certB));
      await waitFor(async () => (await tlsHandshake(portico.httpsPort, { servername: 'churn.test' })).cert.fingerprint256 === fingerprint(certB.certPem), {
        timeoutMs: 3000,
        intervalMs: 10,
        message: 'the rotated certificate was never served',
      });

      // A Service added, with a route to it.
      await writeManifest(dir, 'extra.yaml', docs(service({ name: 'extra', ports: [{ port: 80, targetPort: 3000 }] }), endpointSlice({ name: 'extra-1', service: 'extra', ports: [{ port: 3000 }], endpoints: [{ ip: '127.0.91.2' }] })));
      await writeManifest(dir, 'main.yaml', mainIngress('/v2', true));
      await eventually('churn.test', '/extra', (p) => p === 'extra', 'the new Service');
    } finally {
      result = await load.stop();
    }
    assert.deepEqual(result.failures, [], `${result.failures.length} of ${result.ok + result.failures.length} requests failed`);
    assert.ok(result.ok > 200, `only ${result.ok} requests were made`);
    ws.send('after');
    assert.equal(await ws.next(), 'ws:after', 'the WebSocket opened before the churn still works');
    ws.close();
    assert.equal(await metric('portico_haproxy_reloads_total'), reloadsBefore, 'no change needed a reload');
    for (let i = 0; i < 20; i++) assert.match(await podFor('churn.test', '/'), /^web-[1-5]$/, 'only the five remaining endpoints serve');
  });
});
